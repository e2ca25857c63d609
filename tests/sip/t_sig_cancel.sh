#!/bin/bash
# CANCEL through the proxy, both directions, with a scripted WebSocket peer
# standing in for the browser (tests/lib/sig_ws.js):
#   A. browser -> SIP: INVITE to a UAS that rings forever; the browser
#      CANCELs; the UAS gets the CANCEL (with the browser's Reason) and
#      answers 487; the browser gets 200 for its CANCEL and the 487.
#   B. SIP -> browser: the browser registers (Contact alias + Path), a sipp
#      UAC calls it through Path, the browser rings (180), the UAC CANCELs;
#      the browser gets the CANCEL, answers 200 and 487; the UAC gets 487.
#   Afterwards /health shows no call and no transaction left.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sipp
sb_require_daemon
sb_init

sb_free_port UAS_PORT; sb_free_port UAC_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS_PORT"
sb_daemon_start

# ---- A: the browser cancels
sb_sipp uas -sf "$SB_SIPP_DIR/sig_uas_ring.xml" -p "$UAS_PORT" -m 1
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp UAS did not listen"
cat >"$SB_WORK/a.js" <<'JS'
async (a, t) => {
  const R = {};
  const u = await t.ua(a.ws, 'alice');
  const inv = u.req('INVITE', 'sip:bob@sipbridge.test', { body: t.sdp(40000) });
  const ring = await u.wait(m => m.status === 180, 15000);
  R.ringing = !!ring;
  u.send([`CANCEL sip:bob@sipbridge.test SIP/2.0`, `Via: SIP/2.0/WS ${u.host};branch=${inv.branch}`,
    'Max-Forwards: 70', `From: <sip:alice@sipbridge.test>;tag=${inv.fromTag}`, '<sip:bob@sipbridge.test>'.replace(/^/, 'To: '),
    `Call-ID: ${inv.callId}`, 'CSeq: 1 CANCEL', 'Reason: SIP;cause=487;text="user hung up"', '', ''].join('\n'));
  const c200 = await u.wait(m => m.status && m.cseq().method === 'CANCEL', 5000);
  R.cancel_status = c200 && c200.status;
  const fin = await u.wait(m => m.status >= 300 && m.cseq().method === 'INVITE', 15000);
  R.final = fin && fin.status;
  R.final_via_ok = !!fin && fin.hs('via').length === 1 && fin.h('via').includes(inv.branch);
  if (fin) u.send([`ACK sip:bob@sipbridge.test SIP/2.0`, `Via: SIP/2.0/WS ${u.host};branch=${inv.branch}`,
    'Max-Forwards: 70', `From: <sip:alice@sipbridge.test>;tag=${inv.fromTag}`, `To: ${fin.h('to')}`,
    `Call-ID: ${inv.callId}`, 'CSeq: 1 ACK', '', ''].join('\n'));
  await t.sleep(500);
  R.idle = await t.idle(8000);
  u.close();
  return R;
}
JS
sb_sig a 40 "$SB_WORK/a.js"
sb_expect_json "A: browser heard ringing (180)" "$SB_WORK/a.json" 'r.ringing'
sb_expect_json "A: browser's CANCEL answered 200" "$SB_WORK/a.json" 'r.cancel_status === 200'
sb_expect_json "A: browser got 487 for the INVITE" "$SB_WORK/a.json" 'r.final === 487'
sb_expect_json "A: the 487 carries the browser's own Via (only)" "$SB_WORK/a.json" 'r.final_via_ok'
sb_wait uas 10
sb_expect_eq "A: UAS got CANCEL, answered 487, got ACK (sipp exit)" 0 $?
sb_check "A: CANCEL toward SIP carries the browser's Reason" grep -q 'Reason: SIP;cause=487' "$SB_WORK/uas.msg"
sb_expect_idle 10

# ---- B: the SIP side cancels
sb_free_port REG_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$REG_PORT"
sb_stop sipbridge 5; sb_daemon_start
sb_sipp reg -sf "$SB_SIPP_DIR/sig_registrar.xml" -p "$REG_PORT" -m 1
sb_wait_port udp "$REG_PORT" 5 || sb_die "registrar did not listen"
cat >"$SB_WORK/b.js" <<'JS'
async (a, t) => {
  const R = {};
  const u = await t.ua(a.ws, 'alice');
  u.req('REGISTER', 'sip:sipbridge.test', { to: '<sip:alice@sipbridge.test>', from: '<sip:alice@sipbridge.test>', headers: ['Expires: 600'] });
  const reg = await u.wait(m => m.status >= 200, 10000);
  R.register = reg && reg.status;
  console.log('REGISTERED ' + R.register);
  const inv = await u.wait(m => m.method === 'INVITE', 30000);
  R.invite = !!inv;
  if (!inv) return R;
  R.ruri = inv.ruri;
  u.reply(inv, 180, 'Ringing', { toTag: 'b1' });
  const can = await u.wait(m => m.method === 'CANCEL', 15000);
  R.cancel = !!can;
  if (can) {
    R.cancel_reason = can.h('reason') || null;
    R.cancel_branch_matches = can.h('via') === inv.h('via');
    u.reply(can, 200, 'OK', { toTag: 'b1' });
    u.reply(inv, 487, 'Request Terminated', { toTag: 'b1' });
  }
  await t.sleep(1000);
  R.idle = await t.idle(8000);
  u.close();
  return R;
}
JS
sb_sig_bg b "$SB_WORK/b.js"
sb_wait_log b 'REGISTERED' 20 || sb_die "the WebSocket peer did not register"
sb_wait reg 5
sb_sig_binding "$SB_WORK/reg.msg"; contact=$SIG_CONTACT; path=$SIG_PATH
echo "  alias $contact, Path $path"
sb_check "B: registrar got a Contact alias on the gateway" grep -q "sbf=" <<<"$contact"
sb_run 30 uac sipp -sf "$SB_SIPP_DIR/sig_uac_cancel.xml" -i 127.0.0.1 -p "$UAC_PORT" -m 1 -nostdin \
	-set ruri "$contact" -set route "$path" -d 1000 -timeout 25 \
	-trace_msg -message_file "$SB_WORK/uac.msg" "127.0.0.1:$SB_SIP_PORT"
sb_expect_eq "B: UAC got 180, 200 for CANCEL, 487 (sipp exit)" 0 $?
sb_wait b 20
sb_expect_json "B: INVITE reached the browser" "$SB_WORK/b.json" 'r.invite'
sb_expect_json "B: Request-URI restored to the browser's own Contact" "$SB_WORK/b.json" '/\.invalid/.test(r.ruri)'
sb_expect_json "B: CANCEL reached the browser on the INVITE's branch" "$SB_WORK/b.json" 'r.cancel && r.cancel_branch_matches'
sb_expect_json "B: CANCEL kept the caller's Reason" "$SB_WORK/b.json" '/cause=200/.test(r.cancel_reason)'
sb_expect_idle 10
sb_check "daemon still running" sb_alive sipbridge
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
