#!/bin/bash
# DTMF from the browser to SIP, three ways, from one headless Chromium page
# (JsSIP) and two gateways in one namespace (requests from browsers always
# go to route.outbound_proxy, so each SIP peer gets its own daemon):
#   1. RFC 4733, relayed call: JsSIP (full Chromium offer) -> daemon 1 ->
#      baresip (PCMU + telephone-event/8000, auto-answer). JsSIP sends
#      "1234#" with sendDTMF(transportType RFC2833) (RTCDTMFSender).
#   2. RFC 4733, transcoded call: the page's offer is cut down to Opus and
#      telephone-event/48000 only, so the gateway transcodes Opus <-> PCMU
#      and must map the events' clock 48000 -> 8000. Digits "5678*".
#   3. SIP INFO: JsSIP (full offer) -> daemon 2 -> sipp UAS
#      (uas_info_dtmf.xml: exactly five INFOs answered 200, then BYE). JsSIP
#      sends "1234#" as INFO application/dtmf-relay; daemon 2 has
#      route.dtmf = "info", so the gateway forwards INFO unchanged (the
#      conversion to RFC 4733 is t_dtmf_info.sh).
# Checks, RFC 4733: baresip logs each received event ("received event:
# 'D' (end=0)" at its start): digits exactly once and in order per call. An
# RTP sniffer on baresip's ports (tests/lib/media.sh, AF_PACKET on lo) also
# sees what the gateway sent: one event per digit, each with an end packet,
# the telephone-event payload type baresip answered, on the audio stream's
# SSRC, with a timestamp on the 8 kHz audio clock (within 300 ms of the
# audio packet sent at the same time) and a duration in 8 kHz units
# (JsSIP asks for 160 ms = 1280 units; accepted 100..300 ms; an unmapped
# 48 kHz duration would be 6x too long).
# Checks, INFO: sipp ends with status 0, its trace holds five INFOs with
# Content-Type application/dtmf-relay whose Signal= values are 1,2,3,4,#
# in that order. Also: /health back to 0 calls, no sanitizer report.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/media.sh"
sb_require_cmd node baresip sox sipp python3
sb_require_daemon
sb_require_node_modules
# Chromium alone can take a minute to start on a loaded machine
SB_TEST_TIMEOUT=${SB_TEST_TIMEOUT:-150}
sb_init
sb_bundle

sb_free_port BS_PORT
sb_free_range BS_RTP BS_RTP_HI 20
sb_free_port UAS_PORT
sb_free_port UAS_MPORT
sb_tone "$SB_WORK/tone400_8k.wav" 400 8000 120
sb_tone "$SB_WORK/mic.wav" 1000 48000 90
sb_baresip_conf "$SB_WORK/bs" "$BS_PORT" "$BS_RTP" "$SB_WORK/tone400_8k.wav" PCMU callee

SB_OUTBOUND_PROXY="sip:127.0.0.1:$BS_PORT"
sb_daemon_start sipbridge
WS1=$SB_WS_URL; HTTP1=$SB_HTTP_URL
sb_daemon_new_ports
# route.dtmf = "info": part 3 checks that INFO passes unchanged (the
# default "auto" would turn it into RFC 4733, sipp negotiates
# telephone-event: see t_dtmf_info.sh). The template has one route group,
# so the key rides in on the proxy value.
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS_PORT\"; dtmf = \"info"
sb_daemon_start sipbridge2
WS2=$SB_WS_URL; HTTP2=$SB_HTTP_URL

sb_bg baresip baresip -f "$SB_WORK/bs" -t 100
sb_sipp uas -sf "$SB_SIPP_DIR/uas_info_dtmf.xml" -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MPORT" \
	-m 1 -set pt 0 -set codec PCMU
sb_rtp_sniff rtp "$BS_RTP" "$BS_RTP_HI"

cat >"$SB_WORK/dtmf.js" <<'JS'
async (a) => {
  const maps = (sdp) => (sdp || '').split('\r\n').filter(l => /^a=rtpmap:/.test(l)).map(l => l.slice(9)).join(' | ');
  const one = async (ua, target, tones, method) => {
    const r = {};
    const c = await ua.call(target, { timeoutMs: 15000 });
    r.state = c.state;
    if (c.state !== 'confirmed') { r.summary = c.summary(); return r; }
    await sb.sleep(1500);                  // media flowing before the first digit
    r.dtmf = await c.dtmf(tones, { method, duration: 160, gap: 100 });
    await sb.sleep(1000);
    r.localMaps = maps(c.localSdp); r.remoteMaps = maps(c.remoteSdp);
    r.stats = await c.stats();
    r.end = await c.hangup();
    await sb.sleep(500);
    return r;
  };
  const R = {};
  const ua1 = await sb.ua({ lib: 'jssip', name: 'alice', ws: a.ws1, uri: 'sip:alice@sipbridge.test' });
  if (!ua1.connected) return { error: 'ws1 not connected' };
  R.relay = await one(ua1, a.bs, '1234#', 'rfc4733');
  sb.emit('alice', 'relay-done');
  sb.restrictOffers(/^(opus\/48000|telephone-event\/48000)/i); // Opus-only offers
  R.xcode = await one(ua1, a.bs, '5678*', 'rfc4733');
  sb.restrictOffers(null);
  sb.emit('alice', 'xcode-done');
  await ua1.stop();
  const ua2 = await sb.ua({ lib: 'jssip', name: 'bob', ws: a.ws2, uri: 'sip:bob@sipbridge.test' });
  if (!ua2.connected) { R.error = 'ws2 not connected'; return R; }
  R.info = await one(ua2, a.uas, '1234#', 'info');
  await ua2.stop();
  return R;
}
JS
sb_browser page 100 --timeout 85 --wav "$SB_WORK/mic.wav" \
	--arg "{\"ws1\":\"$WS1\",\"ws2\":\"$WS2\",\"bs\":\"sip:callee@127.0.0.1:$BS_PORT\",\"uas\":\"sip:uas@127.0.0.1:$UAS_PORT\"}" \
	"@$SB_WORK/dtmf.js"
sb_expect_eq "browser driver exit status" 0 $?
sb_stop rtp 2
sleep 0.5
sb_stop baresip 5
J=$SB_WORK/page.json
for k in relay xcode info; do
	echo "  $k: offer [$(sb_json "$J" "r.$k.localMaps")] answer [$(sb_json "$J" "r.$k.remoteMaps")]"
done
sb_json_checks "$J" <<'EOF'
relayed call confirmed	r.relay && r.relay.state === "confirmed"
relayed call: the gateway answered the browser with PCMU (no transcoding)	/PCMU\/8000/.test(r.relay.remoteMaps)
transcoded call confirmed	r.xcode && r.xcode.state === "confirmed"
transcoded call: the browser offered only Opus and telephone-event/48000	!/PCMU|PCMA|G722|telephone-event\/8000/.test(r.xcode.localMaps) && /telephone-event\/48000/.test(r.xcode.localMaps)
transcoded call: the gateway answered Opus and telephone-event/48000	/opus\/48000/.test(r.xcode.remoteMaps) && /telephone-event\/48000/.test(r.xcode.remoteMaps) && !/PCMU|PCMA/.test(r.xcode.remoteMaps)
INFO call confirmed	r.info && r.info.state === "confirmed"
all three calls hung up cleanly	["relay", "xcode", "info"].every(k => r[k] && r[k].end && r[k].end.state === "ended")
EOF

# ---- baresip's view: "received event: 'D' (end=0)" once per digit, per call
calls=$(grep -c "Call established" "$SB_WORK/baresip.log")
sb_expect_eq "baresip answered two calls" 2 "$calls"
sb_check "baresip sent PCMU" grep -q "Set audio encoder: PCMU" "$SB_WORK/baresip.log"
# digits started between the n-th "Call established" and the next one
bs_digits() {
	awk -v n="$1" '/Call established/ { c++ } c == n { print }' "$SB_WORK/baresip.log" |
		grep -o "received event: '.' (end=0)" | cut -c18 | tr -d '\n'
}
grep -E "received event|Call established|terminated" "$SB_WORK/baresip.log" | sed 's/^/    baresip: /' | head -40
sb_expect_eq "baresip got 1234# once each, in order (relayed call)" "1234#" "$(bs_digits 1)"
sb_expect_eq "baresip got 5678* once each, in order (transcoded call)" "5678*" "$(bs_digits 2)"
# and each digit's start is followed by its own end, once: 1+1-2+2-...
bs_pairs=$(grep -o "received event: '.' (end=[01])" "$SB_WORK/baresip.log" | sed -E "s/.*'(.)' \(end=0\)/\1+/; s/.*'(.)' \(end=1\)/\1-/" | tr -d '\n')
sb_expect_eq "baresip: every event started and ended once, in order" "1+1-2+2-3+3-4+4-#+#-5+5-6+6-7+7-8+8-*+*-" "$bs_pairs"

# ---- the wire toward baresip
# telephone-event payload types seen toward baresip: in the relayed call the
# browser's (the gateway relays its offer), in the transcoded one the
# gateway's own
echo "  telephone-event payload types toward baresip: $(awk 'length($9) == 8 && $4 != 0 { print $4 }' "$SB_WORK/rtp.rtp" | sort -u | tr '\n' ' ')"
sb_rtp_tool dtmf "$SB_WORK/rtp.rtp" -1 0 >"$SB_WORK/rtp_dtmf.json"
echo "  events on the wire: $(head -c 3000 "$SB_WORK/rtp_dtmf.json")"
sb_json_checks "$SB_WORK/rtp_dtmf.json" <<'EOF'
the gateway sent 1234#5678* as RFC 4733 events, one event per digit	r.digits === "1234#5678*"
every event has an end packet	r.events.every(e => e.end && e.end_packets >= 1)
every event starts with the marker bit	r.events.every(e => e.marker === 1)
every event is on the audio stream's SSRC	r.events.every(e => e.same_ssrc_audio)
event timestamps are on the 8 kHz audio clock (within 300 ms of the audio)	r.events.every(e => Math.abs(e.ts_minus_audio_ts) <= 2400)
event durations are in 8 kHz units (100..300 ms)	r.events.every(e => e.max_dur >= 800 && e.max_dur <= 2400)
EOF

# ---- INFO toward sipp
sb_wait uas 15; sb_expect_eq "sipp UAS: five INFOs then BYE (status)" 0 $?
# received INFOs in the trace: the request line, then the body's Signal=
infos=$(tr -d '\r' <"$SB_WORK/uas.msg" | awk '/^INFO sip:/ { inside = 1 } inside && /^Content-Type:/ { ct = ct $2 " " }
	inside && /^Signal=/ { sub(/^Signal= */, ""); s = s $0; inside = 0 }
	END { print s "|" ct }')
echo "  INFO signals|content types: $infos"
sb_expect_eq "INFO bodies arrived once each, in order" "1234#" "${infos%%|*}"
sb_expect_eq "every INFO kept Content-Type application/dtmf-relay" \
	"application/dtmf-relay application/dtmf-relay application/dtmf-relay application/dtmf-relay application/dtmf-relay " "${infos#*|}"

sleep 0.5
SB_HTTP_URL=$HTTP1 sb_health >"$SB_WORK/health1.json"
SB_HTTP_URL=$HTTP2 sb_health >"$SB_WORK/health2.json"
sb_expect_json "/health of daemon 1: 0 calls, 0 media sessions" "$SB_WORK/health1.json" 'r.calls === 0 && r.media_sessions === 0'
sb_expect_json "/health of daemon 2: 0 calls, 0 media sessions" "$SB_WORK/health2.json" 'r.calls === 0 && r.media_sessions === 0'
sb_stop sipbridge 5; sb_expect_eq "daemon 1 exit status" 0 $?
sb_stop sipbridge2 5; sb_expect_eq "daemon 2 exit status" 0 $?
sb_check_sanitizers "$SB_WORK/sipbridge.log"
sb_check_sanitizers "$SB_WORK/sipbridge2.log"
sb_finish
