#!/bin/bash
# A real browser under the security settings: JsSIP in headless Chromium,
# page served from an allowed origin, WebSocket URL carrying a token from
# conf/make-token.sh, dial plan in force.
#   1. valid token: connects, calls +44..., sipp answers (and echoes RTP:
#      the browser hears its own 1 kHz), BYE
#   2. same page, +1900...: 403 with the dial plan's reason
#   3. a forged token: the WebSocket never connects (ws-refused logged)
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sipp sox
sb_require_node_modules
sb_require_daemon
sb_init
sb_bundle

SECRET=0123456789abcdef-test-secret
sb_free_port UAS_PORT; sb_free_sipp_media UAS_MEDIA
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS_PORT"
# no allowed_origins here (the driver serves the page on a random port);
# tests/sip/t_security_ws.sh covers the Origin check
SB_CONF_EXTRA="auth: { token_secrets = [ \"$SECRET\" ]; };
dialplan: { default = [ \"deny:+1900*\", \"allow:+44*\", \"deny:*\" ]; };"
sb_daemon_start
sb_tone "$SB_WORK/mic.wav" 1000 48000 30
GOOD=$("$SB_ROOT/conf/make-token.sh" "$SECRET" alice 600 | sed -n 's/^query=//p')
BAD=$("$SB_ROOT/conf/make-token.sh" not-the-gateway-secret-1234 alice 600 | sed -n 's/^query=//p')

cat >"$SB_WORK/t.js" <<'JS'
async (a) => {
  const R = {};
  const ua = await sb.ua({ lib: 'jssip', name: 'alice', ws: a.ws + '/' + a.good, uri: 'sip:alice@sipbridge.test' });
  R.connected = ua.connected;
  if (!ua.connected) return R;
  const c = await ua.call('sip:+442071234567@sipbridge.test', { timeoutMs: 15000 });
  R.state = c.state;
  if (c.state === 'confirmed') {
    R.tone = await c.tone(2000);      // sipp echoes our 1 kHz back
    R.stats = await c.stats();
    await c.hangup();
  }
  const d = await ua.call('sip:+19005550100@sipbridge.test', { timeoutMs: 10000 });
  R.denied = { state: d.state, status: d.status, reason: d.reason };
  await ua.stop();
  const bad = await sb.ua({ lib: 'jssip', name: 'mallory', ws: a.ws + '/' + a.bad, uri: 'sip:alice@sipbridge.test' });
  R.badConnected = bad.connected;
  try { await bad.stop(); } catch (e) {}
  return R;
}
JS
sb_sipp uas -sf "$SB_SIPP_DIR/uas_answer.xml" -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MEDIA" -m 1 \
	-set pt 0 -set codec PCMU -rtp_echo
sb_browser br 60 --wav "$SB_WORK/mic.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"good\":\"$GOOD\",\"bad\":\"$BAD\"}" "@$SB_WORK/t.js"
echo "  result: $(head -c 600 "$SB_WORK/br.json")"
sb_expect_json "valid token: the UA connected" "$SB_WORK/br.json" 'r.connected === true'
sb_expect_json "call to +44 confirmed" "$SB_WORK/br.json" 'r.state === "confirmed"'
sb_expect_json "audio through the call: our 1 kHz echoed back" "$SB_WORK/br.json" \
	'r.tone && Math.abs(r.tone.peakHz - 1000) < 30'
sb_expect_json "call to +1900 refused with 403 and the reason" "$SB_WORK/br.json" \
	'r.denied.status === 403 && /dial plan/.test(r.denied.reason)'
sb_expect_json "forged token: the UA never connected" "$SB_WORK/br.json" 'r.badConnected === false'
sb_wait uas 10; sb_expect_eq "sipp UAS got the call and its BYE (exit status)" 0 $?
LOG=$SB_WORK/sipbridge.log
sb_check "log: call-denied for alice" grep -Eq 'security: event=call-denied ip=127\.0\.0\.1 user="alice" target="\+19005550100" rule="deny:\+1900\*"$' "$LOG"
sb_check "log: ws-refused token-forged" grep -Eq 'security: event=ws-refused ip=127\.0\.0\.1 reason=token-forged' "$LOG"
sb_check_sanitizers
sb_finish
