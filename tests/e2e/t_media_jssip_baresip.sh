#!/bin/bash
# The first real call, audio both ways: headless Chromium + JsSIP calls
# through sipbridge (ICE + DTLS-SRTP toward the browser, plain RTP toward
# SIP) to baresip, which auto-answers with PCMU and plays a 400 Hz tone.
# The browser's fake microphone plays 1 kHz. Checks: the call is answered,
# the page hears 400 Hz, baresip's recording holds 1 kHz (sox: dominant
# frequency within 2 %, level well above silence), the browser hangs up and
# baresip's side ends too, and the gateway is left with no call and no
# transaction.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node baresip sox
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

CODEC=${SB_CODEC:-PCMU}
sb_baresip_callee "$CODEC" 30
sb_daemon_start
sb_bg baresip baresip -f "$SB_WORK/bs" -t 40
sleep 1.5

cat >"$SB_WORK/call.js" <<JS
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call(a.target);
  const r = { state: call.state, status: call.status };
  if (call.state !== 'confirmed') { r.summary = call.summary(); return r; }
  await sb.sleep(1500);
  r.tone = await call.tone(2000);
  r.stats = await call.stats();
  await sb.sleep(1000);
  r.hangup = await call.hangup();
  await sb.sleep(500);
  return r;
}
JS
sb_browser call 60 --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"target\":\"sip:callee@127.0.0.1:$BS_PORT\"}" @"$SB_WORK/call.js"
echo "  browser result: $(head -c 1500 "$SB_WORK/call.json" 2>/dev/null)"

sb_expect_eq "call confirmed" confirmed "$(sb_json "$SB_WORK/call.json" r.state)"
hz=$(sb_json "$SB_WORK/call.json" 'Math.round(r.tone.peakHz)')
sb_expect_near "browser hears baresip's 400 Hz" 400 "$hz" 12
sb_expect_ge "browser received RTP packets" 50 "$(sb_json "$SB_WORK/call.json" 'r.stats.inbound.packetsReceived')"
sb_expect_eq "browser's DTLS connected" connected "$(sb_json "$SB_WORK/call.json" 'r.stats.transport.dtlsState')"

sleep 1
sb_stop baresip 5 TERM
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
sb_expect_tone "baresip hears the browser's 1 kHz" "$rec" 1000 -20
sb_check "baresip saw the call end with BYE" grep -Eiq "terminated|closed|BYE" "$SB_WORK/baresip.log"

health=$(sb_health)
echo "  /health after the call: $health"
sb_check "no call left in /health" grep -q '"calls":0' <<<"$health"
sb_check "no transaction left in /health" grep -q '"transactions":0' <<<"$health"
sb_check "no media session left in /health" grep -q '"media_sessions":0' <<<"$health"
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
