#!/bin/bash
# Failures become SIP responses the browser can show, and leave nothing
# behind (a scripted WebSocket peer plays the browser):
#   phase 1 (outbound proxy = a sipp registrar, later a closed port):
#     REGISTER -> 200 (gives the browser a Contact alias);
#     a SIP phone offers G.729 only to the browser -> 488 from the gateway;
#     the browser offers a codec nobody knows -> 488;
#     a malformed request over WS (CSeq method mismatch) -> 400 with a phrase;
#     the registrar is gone (closed UDP port) -> 503 with a Reason header.
#   phase 2 (outbound proxy = a UAS that is silent or rings forever,
#     SB_TIMER_C_MS=3000):
#     ringing forever -> Timer C: the UAS gets CANCEL, the browser 408;
#     no answer at all (not even 100) -> Timer C: 408 with a Reason, and
#     no CANCEL (nothing rang, RFC 3261 §16.8).
#   phase 3 (SB_TIMER_C_MS=3000): a phone calls a browser that rings
#     forever -> the browser gets a CANCEL (Reason 408), the phone 408.
#   After each phase /health shows calls 0, transactions 0.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sipp
sb_require_daemon
sb_init

sb_free_port REG_PORT; sb_free_port UAC_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$REG_PORT"
sb_daemon_start
sb_sipp reg -sf "$SB_SIPP_DIR/sig_registrar.xml" -p "$REG_PORT" -m 1
sb_wait_port udp "$REG_PORT" 5 || sb_die "registrar did not listen"

cat >"$SB_WORK/p1.js" <<'JS'
async (a, t) => {
  const R = {};
  const u = await t.ua(a.ws, 'alice');
  u.req('REGISTER', 'sip:sipbridge.test', { to: '<sip:alice@sipbridge.test>', from: '<sip:alice@sipbridge.test>', headers: ['Expires: 600'] });
  const reg = await u.wait(m => m.status >= 200, 10000);
  R.register = reg && reg.status;
  console.log('REGISTERED ' + R.register);
  // the shell runs the G.729 phone now; nothing may reach us
  await new Promise(res => { const i = setInterval(() => { if (require('fs').existsSync(a.work + '/uac.done')) { clearInterval(i); res(); } }, 100); });
  R.invite_leaked = u.q.some(m => m.method === 'INVITE');
  // no common codec from the browser
  const sdp = t.sdp(40000).replace(/m=audio (\d+) (\S+) .*/, 'm=audio $1 $2 96').replace(/a=rtpmap:.*\n/g, '').replace(/a=fmtp:.*\n/g, '') + 'a=rtpmap:96 iLBC/8000\n';
  const i1 = u.req('INVITE', 'sip:bob@sipbridge.test', { body: sdp });
  const r1 = await u.wait(m => m.status >= 300 && m.h('call-id') === i1.callId, 10000);
  R.nocodec = r1 && { status: r1.status, reason: r1.reason };
  // malformed: CSeq method does not match the request
  const i2 = u.req('INVITE', 'sip:bob@sipbridge.test', { body: t.sdp(40002), cseqMethod: 'BYE' });
  const r2 = await u.wait(m => m.status && m.h('call-id') === i2.callId, 5000);
  R.malformed = r2 && { status: r2.status, reason: r2.reason };
  R.after_reg = await t.idle(5000);
  // wait until the registrar is gone (closed port), then call
  await new Promise(res => { const i = setInterval(() => { if (require('fs').existsSync(a.work + '/reg.gone')) { clearInterval(i); res(); } }, 100); });
  const i3 = u.req('INVITE', 'sip:bob@sipbridge.test', { body: t.sdp(40004) });
  const r3 = await u.wait(m => m.status >= 300 && m.h('call-id') === i3.callId, 20000);
  R.unreachable = r3 && { via_ok: r3.hs('via').length === 1 && r3.h('via').includes(i3.branch), status: r3.status, reason: r3.reason, why: r3.h('reason') || null, retry: r3.h('retry-after') || null };
  await t.sleep(300);
  R.idle = await t.idle(8000);
  u.close();
  return R;
}
JS
sb_sig_bg p1 "$SB_WORK/p1.js" "{\"work\":\"$SB_WORK\"}"
sb_wait_log p1 'REGISTERED' 20 || sb_die "the WebSocket peer did not register"
sb_wait reg 5
sb_sig_binding "$SB_WORK/reg.msg"
sb_run 20 uac sipp -sf "$SB_SIPP_DIR/sig_uac_offer.xml" -i 127.0.0.1 -p "$UAC_PORT" -m 1 -nostdin \
	-set ruri "$SIG_CONTACT" -set route "$SIG_PATH" -timeout 15 \
	-trace_msg -message_file "$SB_WORK/uac.msg" "127.0.0.1:$SB_SIP_PORT"
sb_expect_eq "SIP phone offering G.729 only gets 488 (sipp exit)" 0 $?
touch "$SB_WORK/uac.done"
sb_wait_log p1 '<<< alice: SIP/2.0 400' 20
touch "$SB_WORK/reg.gone"     # sipp registrar exited after one REGISTER: the port is closed
sb_wait p1 40
J=$SB_WORK/p1.json
sb_expect_json "the G.729 INVITE never reached the browser" "$J" 'r.invite_leaked === false'
sb_expect_json "browser offer with no common codec: 488" "$J" 'r.nocodec && r.nocodec.status === 488'
sb_expect_json "malformed request: 400 with a reason phrase" "$J" 'r.malformed && r.malformed.status === 400 && /CSeq/.test(r.malformed.reason)'
sb_expect_json "trunk unreachable: 503" "$J" 'r.unreachable && r.unreachable.status === 503'
sb_expect_json "503 carries a Reason header" "$J" 'r.unreachable && /cause=503/.test(r.unreachable.why)'
sb_expect_json "503 carries the browser's own Via (only)" "$J" 'r.unreachable && r.unreachable.via_ok'
sb_expect_json "no orphans after phase 1" "$J" 'r.idle && r.idle.calls === 0 && r.idle.transactions === 0'

# ---- phase 2: Timer C and Timer B
sb_stop sipbridge 5
sb_free_port UAS_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS_PORT"
export SB_TIMER_C_MS=3000
sb_daemon_start
unset SB_TIMER_C_MS
sb_sipp uas -sf "$SB_SIPP_DIR/sig_uas_fail.xml" -p "$UAS_PORT" -m 2
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp UAS did not listen"
cat >"$SB_WORK/p2.js" <<'JS'
async (a, t) => {
  const R = {};
  const u = await t.ua(a.ws, 'alice');
  const t0 = Date.now();
  const silent = u.req('INVITE', 'sip:silent@sipbridge.test', { body: t.sdp(40010) });
  const ring = u.req('INVITE', 'sip:ringer@sipbridge.test', { body: t.sdp(40012) });
  const r180 = await u.wait(m => m.status === 180 && m.h('call-id') === ring.callId, 10000);
  R.ringing = !!r180;
  const rc = await u.wait(m => m.status >= 200 && m.h('call-id') === ring.callId, 15000);
  R.timer_c = rc && { status: rc.status, reason: rc.reason, why: rc.h('reason') || null, after_ms: Date.now() - t0 };
  if (rc) u.send([`ACK sip:ringer@sipbridge.test SIP/2.0`, `Via: SIP/2.0/WS ${u.host};branch=${ring.branch}`, 'Max-Forwards: 70',
    `From: <sip:alice@sipbridge.test>;tag=${ring.fromTag}`, `To: ${rc.h('to')}`, `Call-ID: ${ring.callId}`, 'CSeq: 1 ACK', '', ''].join('\n'));
  const rs = await u.wait(m => m.status >= 200 && m.h('call-id') === silent.callId, 15000);
  R.timer_b = rs && { status: rs.status, reason: rs.reason, why: rs.h('reason') || null, after_ms: Date.now() - t0 };
  R.late = u.q.filter(m => m.status >= 200 && m.h('call-id') === ring.callId).map(m => m.status);
  R.idle = await t.idle(8000);
  u.close();
  return R;
}
JS
sb_sig p2 30 "$SB_WORK/p2.js" '{"timeout":28}'
J=$SB_WORK/p2.json
sb_expect_json "ringing forever: browser heard 180" "$J" 'r.ringing'
sb_expect_json "Timer C (3 s): browser gets 408 after ~3 s" "$J" 'r.timer_c && r.timer_c.status === 408 && r.timer_c.after_ms >= 2500 && r.timer_c.after_ms < 8000'
sb_expect_json "Timer C: no 487 relayed after the 408" "$J" 'r.late.length === 0'
sb_expect_json "silent UAS: browser gets 408" "$J" 'r.timer_b && r.timer_b.status === 408'
sb_expect_json "silent UAS: 408 carries a Reason" "$J" 'r.timer_b && /cause=408/.test(r.timer_b.why)'
sb_expect_json "no orphans after phase 2" "$J" 'r.idle && r.idle.calls === 0 && r.idle.transactions === 0'
sb_wait uas 10
sb_check "Timer C: the UAS got a CANCEL" grep -q '^CANCEL sip:ringer' "$SB_WORK/uas.msg"
sb_check "Timer C: no CANCEL for the INVITE that never got a 1xx" sh -c "! grep -q '^CANCEL sip:silent' '$SB_WORK/uas.msg'"

# ---- phase 3: Timer C toward a browser that rings forever (SIP -> browser)
sb_stop sipbridge 5
sb_free_port PEER_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$PEER_PORT"
export SB_TIMER_C_MS=3000
sb_daemon_start
unset SB_TIMER_C_MS
cat >"$SB_WORK/p3.js" <<'JS'
async (a, t) => {
  const R = {};
  const w = await t.ua(a.ws, 'alice');
  const p = await t.udp(a.peer, 'phone');
  w.req('REGISTER', 'sip:sipbridge.test', { to: '<sip:alice@sipbridge.test>', from: '<sip:alice@sipbridge.test>', headers: ['Expires: 600'] });
  const regIn = await p.wait(m => m.method === 'REGISTER');
  const alias = regIn && (/<([^>]+)>/.exec(regIn.h('contact')) || [])[1];
  if (!regIn) return R;
  p.reply(regIn, 200, 'OK', { toTag: 'r1', headers: [`Contact: <${alias}>;expires=600`] });
  await w.wait(m => m.status);
  const t0 = Date.now();
  const c = p.req('INVITE', alias, { body: t.rtpSdp(6000) });
  const inv = await w.wait(m => m.method === 'INVITE', 10000);
  if (!inv) return R;
  w.reply(inv, 180, 'Ringing', { toTag: 'w3' });
  const can = await w.wait(m => m.method === 'CANCEL', 10000);
  R.cancel = can && { after_ms: Date.now() - t0, reason: can.h('reason') || null, same_branch: can.h('via') === inv.h('via') };
  if (can) { w.reply(can, 200, 'OK', { toTag: 'w3' }); w.reply(inv, 487, 'Request Terminated', { toTag: 'w3' }); }
  const fin = await p.wait(m => m.status >= 200 && m.h('call-id') === c.callId, 10000);
  R.final = fin && fin.status;
  R.idle = await t.idle(8000);
  w.close(); p.close();
  return R;
}
JS
sb_sig p3 30 "$SB_WORK/p3.js" "{\"peer\":$PEER_PORT,\"timeout\":28}"
J=$SB_WORK/p3.json
sb_expect_json "Timer C toward the browser: CANCEL on the INVITE's branch after ~3 s" "$J" 'r.cancel && r.cancel.same_branch && r.cancel.after_ms >= 2500 && r.cancel.after_ms < 8000'
sb_expect_json "Timer C toward the browser: the CANCEL says why (Reason)" "$J" 'r.cancel && /cause=408/.test(r.cancel.reason)'
sb_expect_json "Timer C toward the browser: the caller gets 408" "$J" 'r.final === 408'
sb_expect_json "no orphans after phase 3" "$J" 'r.idle && r.idle.calls === 0 && r.idle.transactions === 0'
sb_check "daemon still running" sb_alive sipbridge
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
