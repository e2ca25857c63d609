#!/bin/bash
# Local echo service: JsSIP calls sip:echo@sipbridge.test with no outbound
# proxy; the gateway answers itself and sends the browser's own audio back.
# Checks: 200 from the gateway, DTLS connected, the browser hears its own
# 1 kHz back, hang-up, /health back to 0 calls. SB_WSS=1 (t_echo_jssip_wss.sh):
# the same over wss:// to listen.https with the development certificate,
# which Chromium is told to accept.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sox
sb_require_node_modules
sb_require_daemon
sb_init
sb_bundle
SB_OUTBOUND_PROXY=""
[ "${SB_WSS:-0}" = 1 ] && sb_sip_tls https
sb_daemon_start
WS=$SB_WS_URL FLAGS=()
if [ "${SB_WSS:-0}" = 1 ]; then
	WS=$SB_WSS_URL FLAGS=(--flag --ignore-certificate-errors)
	sb_check "listen.https listens" sb_wait_port tcp "$SB_HTTPS_PORT" 3
fi
sb_tone "$SB_WORK/mic.wav" 1000 48000 60

cat >"$SB_WORK/echo.js" <<'JS'
async (a) => {
  const R = {};
  const ua = await sb.ua({ lib: 'jssip', name: 'alice', ws: a.ws, uri: 'sip:alice@sipbridge.test' });
  R.connected = ua.connected;
  if (!ua.connected) return R;
  const c = await ua.call('sip:echo@sipbridge.test', { timeoutMs: 10000 });
  R.state = c.state;
  if (c.state === 'confirmed') {
    await sb.sleep(1500);
    R.tone = await c.tone(2000);
    R.stats = await c.stats();
    R.end = await c.hangup();
  }
  R.summary = c.summary();
  await ua.stop();
  return R;
}
JS
sb_browser echo 75 --timeout 50 --wav "$SB_WORK/mic.wav" "${FLAGS[@]}" --arg "{\"ws\":\"$WS\"}" "@$SB_WORK/echo.js"
sb_expect_eq "browser driver exit status" 0 $?
J=$SB_WORK/echo.json
sb_expect_json "echo call confirmed" "$J" 'r.state === "confirmed"'
sb_expect_json "DTLS connected" "$J" 'r.stats && r.stats.transport && r.stats.transport.dtlsState === "connected"'
sb_expect_json "browser hears its own 1 kHz back" "$J" 'r.tone && Math.abs(r.tone.peakHz - 1000) < 20 && r.tone.rms > 0.02'
sb_expect_json "hang-up ends the call" "$J" 'r.end && r.end.state === "ended"'
[ "${SB_WSS:-0}" = 1 ] && sb_check "the gateway saw a secure WebSocket from the browser" \
	grep -Eq 'ws [0-9]+ open from .* \(wss\)' "$SB_WORK/sipbridge.log"
echo "  info: tone $(sb_json "$J" 'r.tone' 2>/dev/null), inbound $(sb_json "$J" 'r.stats.inbound' 2>/dev/null)"
sleep 0.5
sb_health >"$SB_WORK/health.json"
sb_expect_json "/health back to 0 calls" "$SB_WORK/health.json" 'r.calls === 0'
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
