#!/bin/bash
# Operations, end to end: the admin API, /metrics and the CDR database
# watched through real calls.
#   1. JsSIP calls baresip (PCMU, tones both ways) with cdr.path set. While
#      it lasts: GET /api/calls lists exactly this call (from_browser,
#      answered, PCMU on both legs, "media flowing both ways" after a few
#      seconds of audio); /metrics has calls_active 1, media_sessions 1.
#      Live: the call's leg counters (polled every second) grow between two
#      reads 2 s apart, no loss, jitter measured; media_packets_total,
#      packet_processing_seconds, worker_sessions and the WebSocket
#      counters already count the running call. The browser leg's
#      stun_rx and consent_ok show the gateway answering Chromium's
#      checks on the selected pair and Chromium answering our consent
#      requests (ice_direct.h).
#      After the browser hangs up: calls_finished_total{answered,2xx} 1,
#      calls_started_total 1, calls_active 0, and the CDR row (Call-ID,
#      From/To, 200, hangup_by browser, times in order, duration > 2 s,
#      codecs, not transcoded, > 50 packets received from each side, loss
#      0 and jitter > 0 from the legs' receive statistics, MOS from them);
#      media_packets_total counts the call's packets.
#   2. POST /api/reload after pointing route.outbound_proxy at a sipp UAS
#      that answers with SDP but never sends RTP: GET /api/calls/{id} says
#      "no RTP from the SIP side"; POST /api/drain (202); the running call
#      goes on; DELETE /api/calls/{id} hangs it up (sipp gets the BYE, the
#      browser too) and the CDR row says hangup_by "gateway".
#   3. Still draining: a new INVITE from the browser gets 503.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/media.sh"       # sb_json_checks
sb_require_cmd node baresip sipp sox python3
sb_require_daemon
sb_require_node_modules
SB_TEST_TIMEOUT=${SB_TEST_TIMEOUT:-170} sb_init
sb_bundle

sb_free_port BS_PORT
sb_free_range BS_RTP BS_RTP_HI 20
sb_free_port UAS_PORT; sb_free_sipp_media UAS_MEDIA
sb_tone "$SB_WORK/tone400_8k.wav" 400 8000 40
sb_tone "$SB_WORK/tone1k_48k.wav" 1000 48000 60
sb_baresip_conf "$SB_WORK/bs" "$BS_PORT" "$BS_RTP" "$SB_WORK/tone400_8k.wav" PCMU callee

CDR=$SB_WORK/cdr.db
SB_OUTBOUND_PROXY="sip:127.0.0.1:$BS_PORT"
SB_CONF_EXTRA="cdr: { path = \"$CDR\"; };"
sb_daemon_start
sb_bg baresip baresip -f "$SB_WORK/bs" -t 60
sb_sipp uas -sf "$SB_SIPP_DIR/uas_answer.xml" -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MEDIA" -m 1 \
	-set pt 0 -set codec PCMU
sb_wait_port udp "$UAS_PORT" 10 || sb_die "sipp UAS did not listen"
sb_wait_port udp "$BS_PORT" 10 || sb_die "baresip did not listen"

ADMIN="http://127.0.0.1:$SB_ADMIN_PORT"
# adm NAME METHOD PATH: the admin API's answer body in $SB_WORK/NAME, its
# HTTP status on stdout
adm() { sb_nsx curl -s --max-time 5 -o "$SB_WORK/$1" -w '%{http_code}' -X "$2" "$ADMIN$3"; }
# metric FILE SERIES: the value of one exact series ("name" or 'name{l="v"}')
metric() { awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print "absent" }' "$SB_WORK/$1"; }
# cdr_row CALL-ID OUT: the CDR row of the call as a JSON object in OUT
# ({} when there is none yet); waits up to 10 s for the writer thread
cdr_row() {
	local i
	for ((i = 0; i < 50; i++)); do
		python3 - "$CDR" "$1" >"$2" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
db.row_factory = sqlite3.Row
rows = [dict(r) for r in db.execute("SELECT * FROM cdr WHERE call_id = ?", (sys.argv[2],))]
print(json.dumps({"n": len(rows), "row": rows[0] if rows else None}))
PY
		[ "$(sb_json "$2" r.n 2>/dev/null)" = 1 ] && return 0
		sleep 0.2
	done
	return 1
}

# ---------------------------------------------------------------- 1. a good call
cat >"$SB_WORK/call1.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call(a.target, { timeoutMs: 20000 });
  const r = { state: call.state, status: call.status };
  if (call.state !== 'confirmed') { r.summary = call.summary(); return r; }
  r.callId = call.s && call.s._request ? call.s._request.call_id : null;
  r.tone = await call.tone(2000);
  await sb.sleep(a.holdMs);             // the shell reads the API meanwhile
  r.stats = await call.stats();
  r.hangup = await call.hangup();
  sb.emit('test', 'hung-up');
  await sb.sleep(500);
  r.summary = call.summary();
  await ua.stop();
  return r;
}
JS
echo "1. browser calls baresip (PCMU), the API watches the call"
sb_browser_bg call1 --timeout 70 --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"target\":\"sip:callee@127.0.0.1:$BS_PORT\",\"holdMs\":9000}" \
	@"$SB_WORK/call1.js"
sb_wait_log call1 '"ev":"confirmed"' 40 || sb_die "call 1 not confirmed: $(tail -n 5 "$SB_WORK/call1.log")"
sleep 5                                 # > SB_MEDIA_GRACE_MS (3 s) of audio
adm calls1.json GET /api/calls >"$SB_WORK/calls1.status"
adm metrics1.txt GET /metrics >"$SB_WORK/metrics1.status"
echo "  GET /api/calls: $(tr -d '\n' <"$SB_WORK/calls1.json" | head -c 900)"
sb_expect_eq "GET /api/calls answers 200" 200 "$(cat "$SB_WORK/calls1.status")"
sb_json_checks "$SB_WORK/calls1.json" <<'EOF'
exactly one call listed (count and array)	r.count === 1 && r.calls.length === 1
direction from_browser	r.calls[0].direction === "from_browser"
state answered	r.calls[0].state === "answered"
browser leg codec PCMU/8000	r.calls[0].codecs.browser === "PCMU/8000"
SIP leg codec PCMU/8000	r.calls[0].codecs.sip === "PCMU/8000"
not transcoded	r.calls[0].transcoded === false
verdict "media flowing both ways"	r.calls[0].verdict === "media flowing both ways"
from is the browser's URI (no tag)	r.calls[0].from === "sip:alice@sipbridge.test"
to is the callee's URI (no tag)	/^sip:callee@127\.0\.0\.1:\d+$/.test(r.calls[0].to)
media worker assigned	Number.isInteger(r.calls[0].worker) && r.calls[0].worker >= 0
EOF
CALL1=$(sb_json "$SB_WORK/calls1.json" 'r.calls[0].call_id')
adm call1_detail.json GET "/api/calls/$CALL1" >"$SB_WORK/call1_detail.status"
sb_expect_eq "GET /api/calls/{id} answers 200" 200 "$(cat "$SB_WORK/call1_detail.status")"
sleep 2
adm call1_detail2.json GET "/api/calls/$CALL1" >/dev/null
# live leg counters: the worker is polled every second while the call runs
python3 - "$SB_WORK/call1_detail.json" "$SB_WORK/call1_detail2.json" >"$SB_WORK/live.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print(json.dumps({"a": a, "b": b}))
PY
sb_json_checks "$SB_WORK/live.json" <<'EOF'
live: stats read within the last 1.5 s	r.a.stats_age_ms >= 0 && r.a.stats_age_ms <= 1500
live: browser leg received > 150 packets after 5 s	r.a.legs.browser.rx_packets > 150
live: SIP leg received and sent > 150 packets	r.a.legs.sip.rx_packets > 150 && r.a.legs.sip.tx_packets > 150
live: 2 s later the counters grew by > 60 packets each	r.b.legs.browser.rx_packets - r.a.legs.browser.rx_packets > 60 && r.b.legs.sip.rx_packets - r.a.legs.sip.rx_packets > 60
live: nothing lost on loopback	r.b.legs.browser.lost === 0 && r.b.legs.sip.lost === 0
live: jitter measured (> 0, < 30 ms)	r.b.legs.browser.jitter_ms + r.b.legs.sip.jitter_ms > 0 && r.b.legs.browser.jitter_ms < 30 && r.b.legs.sip.jitter_ms < 30
live: browser leg's remote is the selected ICE pair (loopback host/prflx)	/^127\.0\.0\.1:\d+ <-> 127\.0\.0\.1:\d+ \((host|prflx)\)$/.test(r.b.legs.browser.remote)
live: SIP leg's remote is baresip's latched RTP address	/^127\.0\.0\.1:\d+$/.test(r.b.legs.sip.remote) && r.b.legs.sip.remote !== r.b.legs.browser.remote
live: first RTP sent to each side is timed, toward the browser not before DTLS completed (no media before the keys)	r.b.timeline.first_rtp_to.sip >= 0 && r.b.timeline.first_rtp_to.browser >= r.b.timeline.dtls_done_ms
live: RTT from the peers' RTCP reports on our SRs, both legs (> 0, < 50 ms on loopback)	typeof r.b.legs.browser.rtt_ms === "number" && r.b.legs.browser.rtt_ms > 0 && r.b.legs.browser.rtt_ms < 50 && r.b.legs.sip.rtt_ms > 0 && r.b.legs.sip.rtt_ms < 50
live: after nomination the gateway answers Chromium's checks itself and Chromium answers its RFC 7675 consent requests (none on the SIP leg)	r.b.legs.browser.stun_rx > 0 && r.b.legs.browser.consent_ok > 0 && r.b.legs.sip.stun_rx === 0 && r.b.legs.sip.consent_ok === 0
EOF
sb_json_checks "$SB_WORK/call1_detail.json" <<'EOF'
detail: no problems listed	Array.isArray(r.problems) && r.problems.length === 0
detail: timeline has answer, ICE/DTLS and RTP from both sides in order	r.timeline.answered_ms >= 0 && r.timeline.dtls_done_ms >= 0 && r.timeline.first_rtp_from.browser >= r.timeline.dtls_done_ms && r.timeline.first_rtp_from.sip >= 0
detail: per-leg codecs	r.legs.browser.codec === "PCMU/8000" && r.legs.sip.codec === "PCMU/8000"
EOF
sb_expect_eq "/metrics answers 200" 200 "$(cat "$SB_WORK/metrics1.status")"
sb_expect_eq "sipbridge_calls_active during the call" 1 "$(metric metrics1.txt sipbridge_calls_active)"
sb_expect_eq "sipbridge_media_sessions during the call" 1 "$(metric metrics1.txt sipbridge_media_sessions)"
sb_expect_eq "sipbridge_calls_started_total during the call" 1 "$(metric metrics1.txt sipbridge_calls_started_total)"
sb_check "/metrics is Prometheus text (HELP and TYPE of calls_active)" \
	grep -qx '# TYPE sipbridge_calls_active gauge' "$SB_WORK/metrics1.txt"
sb_expect_ge 'media_packets_total{leg="webrtc",direction="rx"} during the call (live)' 150 \
	"$(metric metrics1.txt 'sipbridge_media_packets_total{leg="webrtc",direction="rx"}')"
sb_expect_ge 'media_packets_total{leg="rtp",direction="tx"} during the call (live)' 150 \
	"$(metric metrics1.txt 'sipbridge_media_packets_total{leg="rtp",direction="tx"}')"
sb_expect_ge "packet_processing_seconds_count during the call (both directions, 5 s)" 300 \
	"$(metric metrics1.txt sipbridge_packet_processing_seconds_count)"
sb_check "packet_processing_seconds: +Inf bucket = count, mean time > 0 and < 1 ms" awk \
	'$1 == "sipbridge_packet_processing_seconds_count" { c = $2 } $1 == "sipbridge_packet_processing_seconds_sum" { s = $2 }
	 $1 == "sipbridge_packet_processing_seconds_bucket{le=\"+Inf\"}" { inf = $2 }
	 END { exit !(c > 0 && inf == c && s > 0 && s / c < 0.001) }' "$SB_WORK/metrics1.txt"
sb_expect_eq "worker_sessions summed over workers during the call" 1 \
	"$(awk '/^sipbridge_worker_sessions\{/ { n += $2 } END { print n + 0 }' "$SB_WORK/metrics1.txt")"
sb_expect_eq "websocket_connections_total (one browser so far)" 1 \
	"$(metric metrics1.txt sipbridge_websocket_connections_total)"
sb_expect_eq "websocket_connections (open now)" 1 "$(metric metrics1.txt sipbridge_websocket_connections)"

sb_wait_log call1 '"ev":"hung-up"' 40 || sb_fail "browser did not hang up call 1"
sb_wait call1 40
sb_expect_eq "browser driver 1 exit status" 0 $?
J=$SB_WORK/call1.json
echo "  browser 1: $(head -c 700 "$J")"
sb_expect_eq "call 1 confirmed" confirmed "$(sb_json "$J" r.state)"
sb_expect_eq "the API's Call-ID is the browser's" "$(sb_json "$J" r.callId)" "$CALL1"
sb_expect_near "browser hears baresip's 400 Hz" 400 "$(sb_json "$J" 'Math.round(r.tone.peakHz)')" 12
sleep 1
adm metrics2.txt GET /metrics >/dev/null
sb_expect_eq 'calls_finished_total{outcome="answered",status_class="2xx"} after the hang-up' 1 \
	"$(metric metrics2.txt 'sipbridge_calls_finished_total{outcome="answered",status_class="2xx"}')"
sb_expect_eq "calls_active after the hang-up" 0 "$(metric metrics2.txt sipbridge_calls_active)"
sb_expect_eq "media_sessions after the hang-up" 0 "$(metric metrics2.txt sipbridge_media_sessions)"
sb_expect_eq "calls_started_total stays 1" 1 "$(metric metrics2.txt sipbridge_calls_started_total)"
sb_expect_eq "one call_setup_seconds observation" 1 "$(metric metrics2.txt sipbridge_call_setup_seconds_count)"
sb_expect_ge 'media_packets_total{leg="webrtc",direction="rx"} (the browser sent 50 packets/s)' 200 \
	"$(metric metrics2.txt 'sipbridge_media_packets_total{leg="webrtc",direction="rx"}')"
sb_expect_ge 'media_packets_total{leg="rtp",direction="rx"} (baresip too)' 200 \
	"$(metric metrics2.txt 'sipbridge_media_packets_total{leg="rtp",direction="rx"}')"
sb_expect_ge 'media_packets_total{leg="webrtc",direction="tx"}' 200 \
	"$(metric metrics2.txt 'sipbridge_media_packets_total{leg="webrtc",direction="tx"}')"

cdr_row "$CALL1" "$SB_WORK/cdr1.json" || sb_fail "no CDR row for call 1 ($CALL1) within 10 s"
echo "  CDR 1: $(cat "$SB_WORK/cdr1.json")"
sb_json_checks "$SB_WORK/cdr1.json" <<'EOF'
CDR 1: exactly one row with the Call-ID	r.n === 1
CDR 1: from_uri is the browser	r.row.from_uri === "sip:alice@sipbridge.test"
CDR 1: to_uri is the callee	/^sip:callee@127\.0\.0\.1:\d+$/.test(r.row.to_uri)
CDR 1: final_status 200	r.row.final_status === 200
CDR 1: hangup_by browser	r.row.hangup_by === "browser"
CDR 1: start < answer < end	r.row.start_ms < r.row.answer_ms && r.row.answer_ms < r.row.end_ms
CDR 1: duration_ms = end - answer, > 2 s	r.row.duration_ms > 2000 && Math.abs(r.row.duration_ms - (r.row.end_ms - r.row.answer_ms)) <= 1
CDR 1: browser_codec PCMU/8000	r.row.browser_codec === "PCMU/8000"
CDR 1: sip_codec PCMU/8000	r.row.sip_codec === "PCMU/8000"
CDR 1: transcoded 0	r.row.transcoded === 0
CDR 1: browser_rx_packets > 50	r.row.browser_rx_packets > 50
CDR 1: sip_rx_packets > 50	r.row.sip_rx_packets > 50
CDR 1: a MOS was estimated	typeof r.row.mos === "number" && r.row.mos >= 4 && r.row.mos <= 4.41
CDR 1: nothing lost on loopback (RFC 3550 A.3 per leg)	r.row.browser_lost === 0 && r.row.sip_lost === 0 && r.row.loss_pct === 0
CDR 1: jitter measured on the legs (> 0, < 30 ms)	r.row.browser_jitter_ms + r.row.sip_jitter_ms > 0 && r.row.browser_jitter_ms < 30 && r.row.sip_jitter_ms < 30
CDR 1: jitter_ms is the larger leg jitter	Math.abs(r.row.jitter_ms - Math.max(r.row.browser_jitter_ms, r.row.sip_jitter_ms)) < 1e-9
EOF

# ---------------------------------------------------------------- 2. a broken call
echo "2. reload toward a sipp UAS that sends no RTP; verdict, drain, DELETE"
sed -i "s|outbound_proxy = \"[^\"]*\"|outbound_proxy = \"sip:127.0.0.1:$UAS_PORT\"|" "$SB_CONF"
sb_expect_eq "POST /api/reload answers 200" 200 "$(adm reload.json POST /api/reload)"
sb_expect_json "reload says reloaded" "$SB_WORK/reload.json" 'r.reloaded === true'

cat >"$SB_WORK/call2.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const r = {};
  const c2 = await ua.call('sip:silent@sipbridge.test', { timeoutMs: 20000 });
  r.state2 = c2.state;
  if (c2.state === 'confirmed') r.end2 = await c2.waitEnded(a.waitMs);   // the operator hangs up
  r.summary2 = c2.summary();
  // the gateway drains before it hangs this call up: the next one gets 503
  const c3 = await ua.call('sip:late@sipbridge.test', { timeoutMs: 15000 });
  r.state3 = c3.state; r.status3 = c3.status; r.reason3 = c3.reason;
  r.summary3 = c3.summary();
  await ua.stop();
  return r;
}
JS
sb_browser_bg call2 --timeout 80 --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"waitMs\":40000}" @"$SB_WORK/call2.js"
sb_wait_log call2 '"ev":"confirmed"' 40 || sb_die "call 2 not confirmed: $(tail -n 5 "$SB_WORK/call2.log")"
adm calls2.json GET /api/calls >/dev/null
CALL2=$(sb_json "$SB_WORK/calls2.json" 'r.calls.length === 1 ? r.calls[0].call_id : ""')
[ -n "$CALL2" ] || sb_die "GET /api/calls does not list call 2 alone: $(cat "$SB_WORK/calls2.json")"
sleep 5                                 # the grace (3 s) is over
adm call2_detail.json GET "/api/calls/$CALL2" >/dev/null
echo "  GET /api/calls/{id}: $(tr -d '\n' <"$SB_WORK/call2_detail.json" | head -c 1200)"
sb_json_checks "$SB_WORK/call2_detail.json" <<'EOF'
call 2: verdict "no RTP from the SIP side"	r.verdict === "no RTP from the SIP side"
call 2: the only problem listed	JSON.stringify(r.problems) === '["no RTP from the SIP side"]'
call 2: RTP from the browser was seen, none from SIP	r.timeline.first_rtp_from.browser >= 0 && r.timeline.first_rtp_from.sip === null
call 2: answered	r.state === "answered"
EOF
sb_expect_eq "POST /api/drain answers 202" 202 "$(adm drain.json POST /api/drain)"
sb_expect_json "drain says draining" "$SB_WORK/drain.json" 'r.draining === true'
sb_expect_eq "a second POST /api/drain answers 200" 200 "$(adm drain2.json POST /api/drain)"
sb_expect_eq "the running call survives the drain" 200 "$(adm call2_after_drain.json GET "/api/calls/$CALL2")"
sb_expect_eq "DELETE /api/calls/{id} answers 200" 200 "$(adm delete.json DELETE "/api/calls/$CALL2")"
sb_expect_json "DELETE names the call" "$SB_WORK/delete.json" "r.hung_up === '$CALL2'"
sb_wait uas 15
sb_expect_eq "sipp UAS got the BYE and answered 200 (exit 0)" 0 $?
sb_check "BYE reached sipp" grep -q '^BYE ' "$SB_WORK/uas.msg"
sb_expect_eq "DELETE of a call that is gone answers 404" 404 "$(adm delete2.json DELETE "/api/calls/$CALL2")"

cdr_row "$CALL2" "$SB_WORK/cdr2.json" || sb_fail "no CDR row for call 2 ($CALL2) within 10 s"
echo "  CDR 2: $(cat "$SB_WORK/cdr2.json")"
sb_json_checks "$SB_WORK/cdr2.json" <<'EOF'
CDR 2: hangup_by gateway	r.row.hangup_by === "gateway"
CDR 2: final_status 200, answered	r.row.final_status === 200 && r.row.answer_ms > 0
CDR 2: to_uri is the dialled URI	r.row.to_uri === "sip:silent@sipbridge.test"
CDR 2: nothing received from SIP, RTP from the browser	r.row.sip_rx_packets === 0 && r.row.browser_rx_packets > 50
EOF

# ---------------------------------------------------------------- 3. draining
sb_wait call2 60
sb_expect_eq "browser driver 2 exit status" 0 $?
J=$SB_WORK/call2.json
echo "  browser 2: $(head -c 900 "$J")"
sb_json_checks "$J" <<'EOF'
call 2 was confirmed	r.state2 === "confirmed"
call 2 ended by the gateway's BYE (remote)	r.end2 && r.end2.state === "ended" && r.end2.originator === "remote"
call 3 refused with 503 while draining	r.state3 === "failed" && r.status3 === 503
EOF
adm metrics3.txt GET /metrics >/dev/null
sb_expect_eq 'calls_finished_total{outcome="failed",status_class="2xx"} (the operator hung up)' 1 \
	"$(metric metrics3.txt 'sipbridge_calls_finished_total{outcome="failed",status_class="2xx"}')"
sb_expect_eq "calls_active at the end" 0 "$(metric metrics3.txt sipbridge_calls_active)"
sb_expect_eq "GET /api/registrations answers 200" 200 "$(adm regs.json GET /api/registrations)"
sb_expect_json "no registrations (the browsers did not register)" "$SB_WORK/regs.json" 'r.count === 0 && r.registrations.length === 0'
sb_expect_ge 'transactions_total{direction="ws_to_sip"} (INVITEs, BYEs of the browsers)' 3 \
	"$(metric metrics3.txt 'sipbridge_transactions_total{direction="ws_to_sip"}')"

sb_stop baresip 5 TERM
sb_stop sipbridge 10 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
