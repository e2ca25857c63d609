#!/bin/bash
# The webphone's in-call controls against a real SIP phone: the page (served
# by the daemon, ?raw=1) types baresip's address into the dial field and
# clicks Call; the gateway routes it to baresip (outbound proxy), which
# auto-answers with PCMU and plays 400 Hz. The fake microphone plays 1 kHz.
# Checks: answered; the far-end meter (AnalyserNode) peaks at 400 Hz within a
# second of the answer; keypad DTMF; Mute silences the microphone meter and
# Unmute brings it back; Hold/Resume through re-INVITEs keep the call and the
# tone; Hang up reaches baresip; call log; baresip recorded our 1 kHz.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node baresip sox
sb_require_node_modules
sb_require_daemon
sb_init
"$SB_ROOT/scripts/bundle-www.sh" || sb_die "scripts/bundle-www.sh failed"

sb_free_port BS_PORT
sb_free_range BS_RTP BS_RTP_HI 20
sb_tone "$SB_WORK/tone400_8k.wav" 400 8000 60
sb_tone "$SB_WORK/mic.wav" 1000 48000 60
sb_baresip_conf "$SB_WORK/bs" "$BS_PORT" "$BS_RTP" "$SB_WORK/tone400_8k.wav" PCMU callee
SB_OUTBOUND_PROXY="sip:127.0.0.1:$BS_PORT"
sb_daemon_start
sb_bg baresip baresip -f "$SB_WORK/bs" -t 80
sb_wait_port udp "$BS_PORT" 5 || sb_die "baresip did not listen on $BS_PORT"

ARG=$(printf '{"url":"%s","dial":"callee@127.0.0.1:%s","hz":400,"echo":false,"screenshot":"%s"}' \
	"$SB_HTTP_URL" "$BS_PORT" "$SB_WORK/in-call.png")
timeout -k 5 90 ip netns exec "$SB_NS" node "$SB_ROOT/tests/e2e/webphone_drive.js" --url "$SB_HTTP_URL" \
	--wav "$SB_WORK/mic.wav" --timeout 75 --out "$SB_WORK/call.json" --arg "$ARG" "@$SB_ROOT/tests/e2e/webphone_incall.js" \
	</dev/null >"$SB_WORK/call.log" 2>&1
sb_expect_eq "driver exit status" 0 "$?"
J=$SB_WORK/call.json
echo "  info: $(sb_json "$J" '({tone: r.tone, msConfirmedToTone: r.msConfirmedToTone, msClickToTone: r.msClickToTone, stats: r.stats, lastError: r.lastError})' 2>/dev/null)"

sb_expect_json "WebSocket connected" "$J" 'r.connected'
sb_expect_json "typed address + Call button: answered" "$J" 'r.confirmed && /^sip:callee@127\.0\.0\.1/.test(r.peer)'
sb_expect_json "far-end meter peaks at baresip's 400 Hz" "$J" 'r.tone && Math.abs(r.tone.remote.peakHz - 400) < 40'
sb_expect_json "... within a second of the answer" "$J" 'r.msConfirmedToTone !== null && r.msConfirmedToTone <= 1000'
sb_expect_json "mic meter sees our 1 kHz" "$J" 'r.tone && Math.abs(r.tone.mic.peakHz - 1000) < 40 && r.tone.mic.db > -30'
sb_expect_json "call UI: Hang up shown, Call hidden, peer and state" "$J" 'r.ui.hangupVisible && !r.ui.callVisible && /In call/.test(r.ui.callState) && /callee@127\.0\.0\.1/.test(r.ui.peerShown)'
sb_expect_json "on-screen far-end meter moves" "$J" 'r.ui.remoteBar !== "none" && r.ui.remoteBar !== "matrix(0, 0, 0, 1, 0, 0)" && r.ui.remoteAria > -60'
sb_expect_json "keypad sends DTMF in the call" "$J" 'r.dtmfShown === "12#" && r.dtmfEvents === "12#"'
sb_expect_json "Mute: button pressed, mic meter quiet" "$J" 'r.muted.state === true && r.muted.pressed === "true" && /Unmute/.test(r.muted.label) && r.micQuiet'
sb_expect_json "Unmute: mic meter back" "$J" 'r.unmuted && r.toneAfterUnmute'
sb_expect_json "Hold shows On hold" "$J" 'r.held && /On hold/.test(r.heldText)'
sb_expect_json "Resume: call goes on, 400 Hz again" "$J" 'r.resumed && r.toneAfterResume && r.stillConfirmed'
sb_expect_json "Hang up ends the call" "$J" 'r.ended && r.idle'
sb_expect_json "call log: answered, with a duration" "$J" 'r.log && r.log.result === "answered" && r.log.dur >= 1'
sb_expect_json "no error shown" "$J" 'r.lastError === null'
sleep 1
sb_check "baresip saw the BYE" grep -Eiq "terminated|closed|BYE" "$SB_WORK/baresip.log"
sb_stop baresip 5 TERM
sb_expect_tone "baresip heard the page's 1 kHz" "$(sb_baresip_rec "$SB_WORK/bs" dec)" 1000 -30
sb_health >"$SB_WORK/health.json"
sb_expect_json "/health back to 0 calls" "$SB_WORK/health.json" 'r.calls === 0'
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
