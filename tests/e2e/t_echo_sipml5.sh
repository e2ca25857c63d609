#!/bin/bash
# sipML5 (2.1.4, the last release; npm "sipml") against the gateway: its
# stack connects over WebSocket, registers through the gateway to a sipp
# registrar (the outbound proxy), and calls the echo service; the page
# hears its own 1 kHz back through ICE + DTLS-SRTP, and hangs up.
# /health is back to no call, no transaction, no media session.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sox sipp
sb_require_node_modules
sb_require_daemon
. "$(dirname "$0")/../lib/sig.sh"
sb_init
sb_bundle
[ -s "$SB_ROOT/tests/e2e/.work/www/SIPml-api.js" ] || sb_skip "sipML5 missing: run 'npm ci'"
sb_free_port REG_PORT
SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$REG_PORT"
sb_daemon_start
sb_sipp reg -sf "$SB_SIPP_DIR/sig_registrar.xml" -p "$REG_PORT" -m 1
sb_wait_port udp "$REG_PORT" 5 || sb_die "registrar did not listen"
sb_tone "$SB_WORK/mic.wav" 1000 48000 60

cat >"$SB_WORK/echo.js" <<'JS'
async (a) => {
  const R = {};
  const ua = await sb.sipml({ ws: a.ws, impu: 'sip:alice@sipbridge.test', impi: 'alice', password: 'secret' });
  R.start = ua.startResult;
  if (!R.start.ok) return R;
  R.register = await ua.register();
  const c = await ua.call('sip:echo@sipbridge.test');
  R.state = c.state; R.status = c.status; R.endReason = c.endReason;
  if (c.state === 'confirmed') {
    await sb.sleep(1500);
    R.tone = await c.tone(2000);
    R.stats = await c.stats();
    R.end = await c.hangup();
  }
  await ua.stop();
  return R;
}
JS
sb_browser echo 60 --page sipml.html --wav "$SB_WORK/mic.wav" --arg "{\"ws\":\"$SB_WS_URL\"}" @"$SB_WORK/echo.js"
J=$SB_WORK/echo.json
echo "  browser result: $(head -c 900 "$J" 2>/dev/null)"
sb_expect_json "sipML5 stack started over the WebSocket" "$J" 'r.start && r.start.ok === true'
sb_expect_json "REGISTER through the gateway answered 200" "$J" 'r.register && r.register.ok === true'
sb_check "the registrar saw the REGISTER with the gateway's Path" grep -q '^Path: <sip:' "$SB_WORK/reg.msg"
sb_expect_json "echo call connected" "$J" 'r.state === "confirmed"'
sb_expect_json "DTLS connected" "$J" 'r.stats && r.stats.transport && r.stats.transport.dtlsState === "connected"'
hz=$(sb_json "$J" 'Math.round(r.tone.peakHz)')
sb_expect_near "the page hears its own 1 kHz back" 1000 "$hz" 20
sb_expect_json "hung up" "$J" 'r.end && r.end.state === "ended"'
sb_expect_idle 10
health=$(sb_health)
sb_check "no media session left in /health" grep -q '"media_sessions":0' <<<"$health"
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
