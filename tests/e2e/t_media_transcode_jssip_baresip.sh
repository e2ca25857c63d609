#!/bin/bash
# A transcoded browser call, audio both ways: headless Chromium + JsSIP,
# its offer cut down to Opus (+ telephone-event) as a browser without
# G.711 would send, through sipbridge to baresip, which only takes PCMU
# (auto-answer, plays 400 Hz). The gateway's offer toward SIP adds PCMU
# and PCMA, baresip answers PCMU, and the session transcodes Opus <->
# PCMU (decoded/encoded at 8 kHz). Checks: the call is answered, the
# browser sent and received Opus only, the page hears 400 Hz, baresip's
# recording holds the browser's 1 kHz, hang-up ends both sides, no call,
# transaction or media session left, no sanitizer report.
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

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  // offers with Opus and telephone-event only
  sb.restrictOffers(/^(opus|telephone-event)\//i);
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call(a.target);
  const r = { state: call.state, status: call.status };
  if (call.state !== 'confirmed') { r.summary = call.summary(); return r; }
  await sb.sleep(1500);
  r.tone = await call.tone(2000);
  const mline = (sdp) => ((sdp || '').split('\r\n').find(l => l.startsWith('m=audio')) || '');
  const rtpmaps = (sdp) => (sdp || '').split('\r\n').filter(l => l.startsWith('a=rtpmap:')).join(' | ');
  r.localM = mline(call.localSdp); r.remoteM = mline(call.remoteSdp);
  r.remoteMaps = rtpmaps(call.remoteSdp);
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
echo "  browser offered: $(sb_json "$SB_WORK/call.json" r.localM)"
echo "  gateway answered: $(sb_json "$SB_WORK/call.json" r.remoteMaps)"
sb_check "the browser offered no G.711/G.722" sh -c '! grep -Eq "rtpmap:[0-9]+ (PCMU|PCMA|G722)" "$1"' _ "$SB_WORK/call.json"
sb_expect_eq "the gateway answered the browser with Opus" true \
	"$(sb_json "$SB_WORK/call.json" '/opus\/48000/.test(r.remoteMaps) && !/PCMU|PCMA/.test(r.remoteMaps)')"
sb_check "baresip (PCMU only) took PCMU from the gateway's offer" grep -q "Set audio encoder: PCMU" "$SB_WORK/baresip.log"
hz=$(sb_json "$SB_WORK/call.json" 'Math.round(r.tone.peakHz)')
sb_expect_near "browser hears baresip's 400 Hz" 400 "$hz" 12
sb_expect_ge "browser received RTP packets" 50 "$(sb_json "$SB_WORK/call.json" 'r.stats.inbound.packetsReceived')"
sb_expect_ge "browser sent RTP packets" 50 "$(sb_json "$SB_WORK/call.json" 'r.stats.outbound.packetsSent')"
sb_expect_eq "browser's DTLS connected" connected "$(sb_json "$SB_WORK/call.json" 'r.stats.transport.dtlsState')"

sleep 1
sb_stop baresip 5 TERM
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
[ -n "$rec" ] || { echo "  baresip's files: $(ls "$SB_WORK/bs/rec")"; grep -E "sndfile|stream|audio:" "$SB_WORK/baresip.log" | cut -c1-200 | tail -n 8; }
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
