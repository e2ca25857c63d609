#!/bin/bash
# media.prefer_opus = true: a browser that offers Opus and G.711 calls a
# PCMU-only phone (baresip). By default this call is relayed (PCMU both
# sides, t_media_jssip_baresip); with the setting the gateway answers the
# browser with Opus and transcodes to the phone's PCMU. (The other
# direction, Opus listed first in the offer to a browser, is in
# tests/unit/test_codec_policy.) Checks: the offer and answer the browser
# saw, the gateway's media line (transcoded), audio both ways.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node baresip sox
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_baresip_callee PCMU 30
SB_MEDIA_EXTRA="prefer_opus = true;"
sb_daemon_start
sb_bg baresip baresip -f "$SB_WORK/bs" -t 40
sleep 1.5

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call(a.target);
  const maps = sdp => (sdp || '').split(/\r?\n/).filter(l => l.startsWith('a=rtpmap:')).join(' ');
  const r = { state: call.state, status: call.status, localMaps: maps(call.localSdp), remoteMaps: maps(call.remoteSdp) };
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
J=$SB_WORK/call.json
echo "  browser result: $(head -c 800 "$J" 2>/dev/null)"
sb_expect_eq "call confirmed" confirmed "$(sb_json "$J" r.state)"
sb_expect_eq "the browser offered Opus and PCMU" true "$(sb_json "$J" '/opus\/48000/.test(r.localMaps) && /PCMU\/8000/.test(r.localMaps)')"
sb_check "baresip (PCMU only) took PCMU" grep -q "Set audio encoder: PCMU" "$SB_WORK/baresip.log"
sb_expect_eq "the gateway answered the browser with Opus, not the shared PCMU" true \
	"$(sb_json "$J" '/opus\/48000/.test(r.remoteMaps) && !/PCMU|PCMA/.test(r.remoteMaps)')"
hz=$(sb_json "$J" 'Math.round(r.tone.peakHz)')
sb_expect_near "browser hears baresip's 400 Hz" 400 "$hz" 12
sleep 1
sb_stop baresip 5 TERM
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
sb_expect_tone "baresip hears the browser's 1 kHz" "$rec" 1000 -20
sb_check "the gateway transcoded the call (its media line)" grep -q "media end (transcoded)" "$SB_WORK/sipbridge.log"

health=$(sb_health)
sb_check "no call left in /health" grep -q '"calls":0' <<<"$health"
sb_check "no media session left in /health" grep -q '"media_sessions":0' <<<"$health"
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
