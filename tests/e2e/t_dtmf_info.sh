#!/bin/bash
# DTMF sent by JsSIP as SIP INFO (application/dtmf-relay, its default) and
# route.dtmf: one headless Chromium page, two gateways in one namespace
# (requests from browsers always go to route.outbound_proxy, so each SIP
# peer gets its own daemon):
#   1. route.dtmf = "auto" (the default): JsSIP -> daemon 1 -> sipp UAS
#      (uas_dtmf_no_info.xml: PCMU + telephone-event/8000, any INFO fails
#      it). JsSIP sends "1234#" as INFO, 160 ms each; the gateway answers
#      each INFO 200 itself and sends RFC 4733 events in the RTP toward sipp.
#   2. route.dtmf = "info": JsSIP -> daemon 2 -> sipp UAS (uas_info_dtmf.xml:
#      exactly five INFOs answered 200); the INFOs pass unchanged.
#   3. route.dtmf = "rfc4733" toward a sipp UAS without telephone-event
#      (uas_no_te_no_info.xml, any INFO fails it): each INFO is refused
#      with 488 and a warning (JsSIP then drops its remaining tones),
#      nothing is forwarded, the call goes on.
# Checks on the wire toward each sipp (RTP sniffer, tests/lib/media.sh):
# call 1 carries the events 1,2,3,4,# exactly once each, in order, with
# sipp's telephone-event PT 101 at 8000 Hz: duration 160 ms = 1280 units
# (± one 20 ms packet), three end packets each, the marker on the first,
# on the audio stream's SSRC and timeline; call 2 carries no event at all.
# sipp 1 got no INFO (its trace), sipp 2 got the five in order; the
# gateway's log names each digit it converted. No sanitizer report.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/media.sh"
sb_require_cmd node sox sipp python3
sb_require_daemon
sb_require_node_modules
SB_TEST_TIMEOUT=${SB_TEST_TIMEOUT:-120}
sb_init
sb_bundle

sb_free_port UAS1_PORT
sb_free_port UAS2_PORT
sb_free_port UAS3_PORT
sb_free_range MP MP_HI 12   # sipp binds media port + 2 for video
UAS1_MPORT=$MP
UAS2_MPORT=$((MP + 4))
UAS3_MPORT=$((MP + 8))
sb_tone "$SB_WORK/mic.wav" 1000 48000 60

SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS1_PORT"
sb_daemon_start sipbridge
WS1=$SB_WS_URL; HTTP1=$SB_HTTP_URL
sb_daemon_new_ports
# the template has one route group: route.dtmf rides in on the proxy value
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS2_PORT\"; dtmf = \"info"
sb_daemon_start sipbridge2
WS2=$SB_WS_URL; HTTP2=$SB_HTTP_URL
grep -q 'dtmf = "info"' "$SB_WORK/sipbridge2.conf" || sb_die "route.dtmf not in daemon 2's config"
sb_daemon_new_ports
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS3_PORT\"; dtmf = \"rfc4733"
sb_daemon_start sipbridge3
WS3=$SB_WS_URL

sb_sipp uas1 -sf "$SB_SIPP_DIR/uas_dtmf_no_info.xml" -p "$UAS1_PORT" -mi 127.0.0.1 \
	-mp "$UAS1_MPORT" -m 1 -set pt 0 -set codec PCMU
sb_sipp uas2 -sf "$SB_SIPP_DIR/uas_info_dtmf.xml" -p "$UAS2_PORT" -mi 127.0.0.1 \
	-mp "$UAS2_MPORT" -m 1 -set pt 0 -set codec PCMU
sb_sipp uas3 -sf "$SB_SIPP_DIR/uas_no_te_no_info.xml" -p "$UAS3_PORT" -mi 127.0.0.1 \
	-mp "$UAS3_MPORT" -m 1 -set pt 0 -set codec PCMU
sb_rtp_sniff rtp "$MP" "$MP_HI"

cat >"$SB_WORK/dtmf.js" <<'JS'
async (a) => {
  const one = async (ws, name, target) => {
    const r = {};
    const ua = await sb.ua({ lib: 'jssip', name, ws, uri: `sip:${name}@sipbridge.test` });
    if (!ua.connected) return { error: 'ws not connected' };
    const c = await ua.call(target, { timeoutMs: 15000 });
    r.state = c.state;
    if (c.state === 'confirmed') {
      await sb.sleep(800);                 // audio flowing before the first digit
      r.dtmf = await c.dtmf('1234#', { method: 'info', duration: 160, gap: 150 });
      await sb.sleep(600);
      r.end = await c.hangup();
    } else {
      r.summary = c.summary();
    }
    await ua.stop();
    return r;
  };
  const R = {};
  R.auto = await one(a.ws1, 'alice', a.uas1);
  R.info = await one(a.ws2, 'bob', a.uas2);
  R.strict = await one(a.ws3, 'carol', a.uas3);
  return R;
}
JS
sb_browser page 90 --timeout 75 --wav "$SB_WORK/mic.wav" \
	--arg "{\"ws1\":\"$WS1\",\"ws2\":\"$WS2\",\"uas1\":\"sip:uas@127.0.0.1:$UAS1_PORT\",\"uas2\":\"sip:uas@127.0.0.1:$UAS2_PORT\",\"ws3\":\"$WS3\",\"uas3\":\"sip:uas@127.0.0.1:$UAS3_PORT\"}" \
	"@$SB_WORK/dtmf.js"
sb_expect_eq "browser driver exit status" 0 $?
sleep 0.3
sb_stop rtp 2
J=$SB_WORK/page.json
sb_json_checks "$J" <<'EOF'
call through route.dtmf=auto confirmed and hung up	r.auto && r.auto.state === "confirmed" && r.auto.end && r.auto.end.state === "ended"
call through route.dtmf=info confirmed and hung up	r.info && r.info.state === "confirmed" && r.info.end && r.info.end.state === "ended"
call through route.dtmf=rfc4733 (no telephone-event) survived the refusals	r.strict && r.strict.state === "confirmed" && r.strict.end && r.strict.end.state === "ended"
rfc4733: JsSIP saw an error response (it stopped after its first INFO)	r.strict.end.events.filter(e => / dtmf by local/.test(e)).length === 1
EOF

# ---- the SIP peers' view of signalling
sb_wait uas1 10; sb_expect_eq "sipp 1 (auto): call and BYE, no INFO (status)" 0 $?
sb_wait uas2 10; sb_expect_eq "sipp 2 (info): five INFOs then BYE (status)" 0 $?
sb_wait uas3 10; sb_expect_eq "sipp 3 (rfc4733, no telephone-event): call and BYE, no INFO (status)" 0 $?
sb_expect_eq "sipp 3 received no INFO" 0 "$(grep -c '^INFO sip:' "$SB_WORK/uas3.msg")"
# JsSIP drops its remaining tones after an error response to an INFO: one
# refusal, and only one INFO sent, shows the browser got the 488
sb_expect_eq "daemon 3 refused the first INFO with 488 (log)" 1 \
	"$(grep -c "INFO DTMF '1' refused (488)" "$SB_WORK/sipbridge3.log")"
sb_expect_eq "sipp 1 received no INFO" 0 "$(grep -c '^INFO sip:' "$SB_WORK/uas1.msg")"
signals=$(tr -d '\r' <"$SB_WORK/uas2.msg" | awk '/^INFO sip:/ { inside = 1 }
	inside && /^Signal=/ { sub(/^Signal= */, ""); s = s $0; inside = 0 } END { print s }')
sb_expect_eq "sipp 2 got the INFOs 1234# once each, in order" "1234#" "$signals"
conv=$(grep -o "INFO DTMF '.' (160 ms) -> RFC 4733" "$SB_WORK/sipbridge.log" | cut -c12 | tr -d '\n')
sb_expect_eq "daemon 1 converted 1234# (log)" "1234#" "$conv"
sb_expect_eq "daemon 2 converted nothing (log)" 0 "$(grep -c 'INFO DTMF' "$SB_WORK/sipbridge2.log")"

# ---- the wire: events toward sipp 1, none toward sipp 2
awk -v p="$UAS1_MPORT" '$3 == p' "$SB_WORK/rtp.rtp" >"$SB_WORK/rtp1.rtp"
awk -v p="$UAS2_MPORT" '$3 == p' "$SB_WORK/rtp.rtp" >"$SB_WORK/rtp2.rtp"
echo "  packets toward sipp 1: $(wc -l <"$SB_WORK/rtp1.rtp"), toward sipp 2: $(wc -l <"$SB_WORK/rtp2.rtp")"
sb_rtp_tool dtmf "$SB_WORK/rtp1.rtp" 101 0 >"$SB_WORK/dtmf1.json"
sb_rtp_tool dtmf "$SB_WORK/rtp2.rtp" -1 0 >"$SB_WORK/dtmf2.json"
echo "  events toward sipp 1: $(head -c 2500 "$SB_WORK/dtmf1.json")"
sb_json_checks "$SB_WORK/dtmf1.json" <<'EOF'
auto: 1234# arrived as RFC 4733 events (PT 101), one event per digit	r.digits === "1234#"
auto: every event starts with the marker bit	r.events.every(e => e.marker === 1)
auto: every event ends with exactly three end packets	r.events.every(e => e.end && e.end_packets === 3)
auto: durations in 8 kHz units, 160 ms = 1280 +- one 20 ms packet	r.events.every(e => Math.abs(e.max_dur - 1280) <= 160)
auto: events on the audio stream's SSRC	r.events.every(e => e.same_ssrc_audio)
auto: event timestamps on the 8 kHz audio timeline (within 100 ms)	r.events.every(e => Math.abs(e.ts_minus_audio_ts) <= 800)
EOF
# one sequence space for audio and events (no gap, no repeat), and no audio
# while an event plays (between its first and its last packet)
wire=$(python3 - "$SB_WORK/rtp1.rtp" <<'PY'
import sys
pk = [l.split() for l in open(sys.argv[1])]
seqs = [int(p[5]) for p in pk]
gaps = sum(1 for a, b in zip(seqs, seqs[1:]) if (b - a) & 0xffff != 1)
ev = [i for i, p in enumerate(pk) if p[3] == '101']
spans, inside = {}, 0
for i in ev:
    spans.setdefault(pk[i][6], [i, i])[1] = i
for lo, hi in spans.values():
    inside += sum(1 for p in pk[lo:hi] if p[3] != '101')
print(len(set(p[7] for p in pk)), gaps, inside)
PY
)
echo "  toward sipp 1: SSRCs, sequence gaps, audio packets inside events: $wire"
sb_expect_eq "auto: one SSRC, no sequence gap, no audio inside an event" "1 0 0" "$wire"
sb_json_checks "$SB_WORK/dtmf2.json" <<'EOF'
info: no telephone-event toward sipp 2	r.digits === "" && r.events.length === 0
EOF
sb_check "audio reached sipp 2 (the sniffer saw that call)" test -s "$SB_WORK/rtp2.rtp"

SB_HTTP_URL=$HTTP1 sb_health >"$SB_WORK/health1.json"
sb_expect_json "/health of daemon 1: 0 calls, 0 media sessions" "$SB_WORK/health1.json" 'r.calls === 0 && r.media_sessions === 0'
sb_stop sipbridge 5; sb_expect_eq "daemon 1 exit status" 0 $?
sb_stop sipbridge2 5; sb_expect_eq "daemon 2 exit status" 0 $?
sb_stop sipbridge3 5; sb_expect_eq "daemon 3 exit status" 0 $?
sb_check_sanitizers "$SB_WORK/sipbridge.log"
sb_check_sanitizers "$SB_WORK/sipbridge2.log"
sb_check_sanitizers "$SB_WORK/sipbridge3.log"
sb_finish
