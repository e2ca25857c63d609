#!/bin/bash
# The webphone's "Echo test" button against the gateway's echo service
# (services.echo, no outbound proxy). The fake microphone plays 1 kHz; the
# page runs with ?raw=1 (no echo cancellation / noise suppression / AGC).
# Checks: the call is answered; the far-end meter (AnalyserNode behind
# sbPhone.levels()) peaks at 1 kHz within a second of the answer; the on-screen
# meter moves; keypad sends DTMF in the call; Mute silences what comes back and
# Unmute brings it back; Hold/Resume; Hang up ends the call, the call log says
# answered, and /health is back to 0 calls.
# SB_WSS=1 (t_webphone_echo_https.sh): the page is loaded from
# listen.https and its WebSocket is wss:// (the page derives it from its
# own address), with the development certificate that Chromium is told to
# accept.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sox
sb_require_node_modules
sb_require_daemon
sb_init
"$SB_ROOT/scripts/bundle-www.sh" || sb_die "scripts/bundle-www.sh failed"
SB_OUTBOUND_PROXY=""
[ "${SB_WSS:-0}" = 1 ] && sb_sip_tls https
sb_daemon_start
sb_tone "$SB_WORK/mic.wav" 1000 48000 60
URL=$SB_HTTP_URL FLAGS=()
if [ "${SB_WSS:-0}" = 1 ]; then
	URL="https://$SB_IPH:$SB_HTTPS_PORT" FLAGS=(--flag --ignore-certificate-errors)
	sb_check "listen.https listens" sb_wait_port tcp "$SB_HTTPS_PORT" 3
fi

ARG=$(printf '{"url":"%s","dial":null,"hz":1000,"echo":true,"screenshot":"%s"}' "$URL" "$SB_WORK/in-call.png")
timeout -k 5 90 ip netns exec "$SB_NS" node "$SB_ROOT/tests/e2e/webphone_drive.js" --url "$URL" "${FLAGS[@]}" \
	--wav "$SB_WORK/mic.wav" --timeout 75 --out "$SB_WORK/echo.json" --arg "$ARG" "@$SB_ROOT/tests/e2e/webphone_incall.js" \
	</dev/null >"$SB_WORK/echo.log" 2>&1
sb_expect_eq "driver exit status" 0 "$?"
# SB_WEBPHONE_CALL_SHOT=doc/webphone-call.png refreshes the README's picture
[ -n "${SB_WEBPHONE_CALL_SHOT:-}" ] && [ -s "$SB_WORK/in-call.png" ] && cp "$SB_WORK/in-call.png" "$SB_WEBPHONE_CALL_SHOT"
J=$SB_WORK/echo.json
echo "  info: $(sb_json "$J" '({tone: r.tone, msConfirmedToTone: r.msConfirmedToTone, msClickToTone: r.msClickToTone, stats: r.stats, lastError: r.lastError})' 2>/dev/null)"

sb_expect_json "WebSocket connected" "$J" 'r.connected'
sb_expect_json "Echo test button: call answered" "$J" 'r.confirmed && /^sip:echo@/.test(r.peer)'
sb_expect_json "far end plays our 1 kHz (AnalyserNode peak)" "$J" 'r.tone && Math.abs(r.tone.remote.peakHz - 1000) < 40'
sb_expect_json "... within a second of the answer" "$J" 'r.msConfirmedToTone !== null && r.msConfirmedToTone <= 1000'
sb_expect_json "mic meter sees the 1 kHz too" "$J" 'r.tone && Math.abs(r.tone.mic.peakHz - 1000) < 40 && r.tone.mic.db > -30'
sb_expect_json "on-screen meters move, call UI shown" "$J" 'r.ui.hangupVisible && /In call/.test(r.ui.callState) && r.ui.remoteBar !== "none" && r.ui.remoteBar !== "matrix(0, 0, 0, 1, 0, 0)"'
sb_expect_json "keypad sends DTMF in the call" "$J" 'r.dtmfShown === "12#" && r.dtmfEvents === "12#"'
sb_expect_json "Mute: button pressed, mic meter and the echo go quiet" "$J" 'r.muted.state === true && r.muted.pressed === "true" && /Unmute/.test(r.muted.label) && r.micQuiet && r.remoteQuiet'
sb_expect_json "Unmute: the tone comes back" "$J" 'r.unmuted && r.toneAfterUnmute'
sb_expect_json "Hold shows On hold" "$J" 'r.held && /On hold/.test(r.heldText)'
sb_expect_json "Resume: the tone comes back" "$J" 'r.resumed && r.toneAfterResume && r.stillConfirmed'
sb_expect_json "Hang up ends the call" "$J" 'r.ended && r.idle'
sb_expect_json "call log: answered echo call" "$J" 'r.log && r.log.result === "answered" && /^sip:echo@/.test(r.log.uri) && r.log.dur >= 1'
sb_expect_json "no error shown" "$J" 'r.lastError === null'
[ "${SB_WSS:-0}" = 1 ] && sb_check "the page's WebSocket was wss://" \
	grep -Eq 'ws [0-9]+ open from .* \(wss\)' "$SB_WORK/sipbridge.log"
sleep 0.5
sb_health >"$SB_WORK/health.json"
sb_expect_json "/health back to 0 calls" "$SB_WORK/health.json" 'r.calls === 0'
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
