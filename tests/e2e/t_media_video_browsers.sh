#!/bin/bash
# A browser that asks for camera and microphone calls an audio-only phone:
# JsSIP, then SIP.js, offer audio + video (BUNDLE) to baresip (PCMU, no
# video). The gateway has no video path yet, so it must answer the video
# m-line with port 0 (and keep it out of the BUNDLE group), carry the audio
# both ways, and leave nothing behind. Checks per library: call confirmed,
# the browser offered video, the answer rejects it (port 0, not in the
# BUNDLE group) and accepts audio, the browser hears 400 Hz and baresip
# records 1 kHz.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node baresip sox
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_baresip_callee PCMU 60
sb_daemon_start
sb_bg baresip baresip -f "$SB_WORK/bs" -t 80
sleep 1.5

cat >"$SB_WORK/call.js" <<JS
async (a) => {
  const ua = await sb.ua({ lib: a.lib, ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call(a.target, { video: true });
  const pc = call.pc();
  const r = { state: call.state, status: call.status,
    localSdp: call.localSdp || (pc && pc.localDescription && pc.localDescription.sdp) || '',
    remoteSdp: call.remoteSdp || (pc && pc.remoteDescription && pc.remoteDescription.sdp) || '' };
  if (call.state !== 'confirmed') { r.summary = call.summary(); return r; }
  await sb.sleep(1500);
  r.tone = await call.tone(2000);
  r.stats = await call.stats();
  await sb.sleep(1000);
  r.hangup = await call.hangup();
  await sb.sleep(500);
  await ua.stop();
  return r;
}
JS

for lib in jssip sipjs; do
	echo "  -- $lib, audio + video"
	rm -f "$SB_WORK"/bs/rec/*.wav
	sb_browser "call_$lib" 60 --wav "$SB_WORK/tone1k_48k.wav" \
		--arg "{\"lib\":\"$lib\",\"ws\":\"$SB_WS_URL\",\"target\":\"sip:callee@127.0.0.1:$BS_PORT\"}" @"$SB_WORK/call.js"
	j=$SB_WORK/call_$lib.json
	echo "  browser result: $(head -c 600 "$j" 2>/dev/null)"
	sb_expect_eq "$lib: call confirmed" confirmed "$(sb_json "$j" r.state)"
	sb_expect_eq "$lib: the browser offered video" true "$(sb_json "$j" '/\nm=video [1-9]/.test(r.localSdp)')"
	sb_expect_eq "$lib: the answer rejects video (port 0)" true "$(sb_json "$j" '/\nm=video 0 /.test(r.remoteSdp)')"
	sb_expect_eq "$lib: the answer accepts audio" true "$(sb_json "$j" '/\nm=audio [1-9]/.test(r.remoteSdp)')"
	sb_expect_eq "$lib: the BUNDLE group names no rejected m-line" true \
		"$(sb_json "$j" '(() => { const g = (r.remoteSdp.match(/a=group:BUNDLE(.*)/) || ["", ""])[1].trim().split(/\s+/).filter(Boolean); const mids = r.remoteSdp.split(/\r?\nm=/).slice(1).filter(m => !/^\w+ 0 /.test(m)).map(m => (m.match(/a=mid:(\S+)/) || [])[1]); return g.every(x => mids.includes(x)); })()')"
	hz=$(sb_json "$j" 'Math.round(r.tone.peakHz)')
	sb_expect_near "$lib: browser hears baresip's 400 Hz" 400 "$hz" 12
	sb_expect_ge "$lib: browser received RTP packets" 50 "$(sb_json "$j" 'r.stats.inbound.packetsReceived')"
	sleep 1
	rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
	sb_expect_tone "$lib: baresip hears the browser's 1 kHz" "$rec" 1000 -20
done

sb_stop baresip 5 TERM

health=$(sb_health)
echo "  /health after the calls: $health"
sb_check "no call left in /health" grep -q '"calls":0' <<<"$health"
sb_check "no media session left in /health" grep -q '"media_sessions":0' <<<"$health"
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
