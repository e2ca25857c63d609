#!/bin/bash
# Port exhaustion is a capacity limit, not a server fault. media.rtp_ports
# holds 4 ports: a browser's first call (ringing at the trunk) takes its
# ICE port and an RTP pair; a second INVITE finds no free pair for the SIP
# side's RTP and gets 503 "no free media port" with Retry-After (RFC 3261
# §21.5.4), without reaching the trunk. The first call is then cancelled
# and nothing is left behind. A scripted WebSocket peer plays the browser,
# a scripted UDP peer the trunk.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node
sb_require_daemon
sb_init

sb_free_range SB_RTP_LO SB_RTP_HI 4      # two port pairs
sb_free_port TRUNK_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$TRUNK_PORT"
sb_daemon_start

cat >"$SB_WORK/p.js" <<'JS'
async (a, t) => {
  const R = {};
  const trunk = await t.udp(a.trunk, 'trunk');
  const u = await t.ua(a.ws, 'alice');
  const first = u.req('INVITE', 'sip:bob@sipbridge.test', { body: t.sdp(40000) });
  const in1 = await trunk.wait(m => m.method === 'INVITE', 10000);
  R.first_reached = !!in1;
  if (in1) trunk.reply(in1, 180, 'Ringing', { toTag: 'tr1' });
  R.ringing = !!(await u.wait(m => m.status === 180 && m.h('call-id') === first.callId, 5000));
  const second = u.req('INVITE', 'sip:carol@sipbridge.test', { body: t.sdp(40002) });
  const r = await u.wait(m => m.status >= 300 && m.h('call-id') === second.callId, 10000);
  R.final = r && { status: r.status, reason: r.reason, retry: r.h('retry-after') || null };
  if (r) u.send([`ACK sip:carol@sipbridge.test SIP/2.0`, `Via: SIP/2.0/WS ${u.host};branch=${second.branch}`, 'Max-Forwards: 70',
    `From: <sip:alice@sipbridge.test>;tag=${second.fromTag}`, `To: ${r.h('to')}`, `Call-ID: ${second.callId}`, 'CSeq: 1 ACK', '', ''].join('\n'));
  await t.sleep(500);
  R.second_leaked = trunk.q.some(m => m.method === 'INVITE' && /carol/.test(m.ruri));
  // cancel the first call; the trunk answers the CANCEL and ends its INVITE
  u.send([`CANCEL sip:bob@sipbridge.test SIP/2.0`, `Via: SIP/2.0/WS ${u.host};branch=${first.branch}`, 'Max-Forwards: 70',
    `From: <sip:alice@sipbridge.test>;tag=${first.fromTag}`, '<sip:bob@sipbridge.test>'.replace(/^/, 'To: '), `Call-ID: ${first.callId}`, 'CSeq: 1 CANCEL', '', ''].join('\n'));
  const cancel = await trunk.wait(m => m.method === 'CANCEL', 5000);
  if (cancel) { trunk.reply(cancel, 200, 'OK'); trunk.reply(in1, 487, 'Request Terminated', { toTag: 'tr1' }); }
  const r487 = await u.wait(m => m.status === 487 && m.h('call-id') === first.callId, 5000);
  R.cancelled = !!r487;
  if (r487) u.send([`ACK sip:bob@sipbridge.test SIP/2.0`, `Via: SIP/2.0/WS ${u.host};branch=${first.branch}`, 'Max-Forwards: 70',
    `From: <sip:alice@sipbridge.test>;tag=${first.fromTag}`, `To: ${r487.h('to')}`, `Call-ID: ${first.callId}`, 'CSeq: 1 ACK', '', ''].join('\n'));
  R.idle = await t.idle(8000);
  u.close();
  return R;
}
JS
sb_sig p 40 "$SB_WORK/p.js" "{\"trunk\":$TRUNK_PORT}"
J=$SB_WORK/p.json
echo "  result: $(head -c 500 "$J" 2>/dev/null)"
sb_expect_json "the first call rings at the trunk" "$J" 'r.first_reached && r.ringing'
sb_expect_json "a second INVITE without a free port pair: 503" "$J" 'r.final && r.final.status === 503'
sb_expect_json "its phrase says why" "$J" 'r.final && /no free media port/.test(r.final.reason)'
sb_expect_json "and when to retry" "$J" 'r.final && +r.final.retry > 0'
sb_expect_json "the second INVITE never reached the trunk" "$J" 'r.second_leaked === false'
sb_expect_json "the first call cancelled (487)" "$J" 'r.cancelled'
sb_expect_json "no orphans" "$J" 'r.idle && r.idle.calls === 0 && r.idle.transactions === 0'
sb_stop sipbridge 5
sb_expect_eq "daemon exit status" 0 $?
sb_check_sanitizers
sb_finish
