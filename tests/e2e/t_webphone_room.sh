#!/bin/bash
# Two webphones (two Chromiums: microphones at 1 kHz and 400 Hz) join the
# same conference room through the "Join room" dialog (sip:conf-NAME@host,
# services.conference_prefix). Checks: both are answered by the room; each
# hears the other's tone on its far-end meter (AnalyserNode); both hang up;
# the call log names the room; /health is back to 0 calls.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sox
sb_require_node_modules
sb_require_daemon
sb_init
"$SB_ROOT/scripts/bundle-www.sh" || sb_die "scripts/bundle-www.sh failed"
SB_OUTBOUND_PROXY=""
sb_daemon_start
sb_tone "$SB_WORK/a.wav" 1000 48000 120
sb_tone "$SB_WORK/b.wav" 400 48000 120
ROOM="team-$RANDOM"
for who in a b; do
	if [ $who = a ]; then other=b; hz=400; else other=a; hz=1000; fi
	arg=$(printf '{"url":"%s","room":"%s","hz":%d,"me":"%s","other":"%s","work":"%s"}' \
		"$SB_HTTP_URL" "$ROOM" "$hz" "$who" "$other" "$SB_WORK")
	sb_bg "page_$who" timeout -k 5 100 node "$SB_ROOT/tests/e2e/webphone_drive.js" --url "$SB_HTTP_URL" \
		--wav "$SB_WORK/$who.wav" --timeout 95 --out "$SB_WORK/$who.json" --arg "$arg" \
		"@$SB_ROOT/tests/e2e/webphone_room.js"
done
sb_wait page_a 100; ra=$?
sb_wait page_b 20; rb=$?
sb_expect_eq "driver A exit status" 0 "$ra"
sb_expect_eq "driver B exit status" 0 "$rb"
for who in a b; do
	J=$SB_WORK/$who.json
	if [ $who = a ]; then hz=400; else hz=1000; fi
	echo "  info $who: $(sb_json "$J" '({heard: r.heard, lastError: r.lastError})' 2>/dev/null)"
	sb_expect_json "$who: Join room dialog, call answered by room $ROOM" "$J" \
		"r.dialogOpen && r.state.call === 'confirmed' && r.state.peer === 'sip:conf-$ROOM@127.0.0.1'"
	sb_expect_json "$who: hears the other member's $hz Hz" "$J" "r.heard && Math.abs(r.heard.remote.peakHz - $hz) < 40"
	sb_expect_json "$who: hung up, call log names the room" "$J" \
		"r.otherHeard && r.idle && r.log.uri === 'sip:conf-$ROOM@127.0.0.1' && r.log.result === 'answered'"
done
sleep 0.5
sb_health >"$SB_WORK/health.json"
sb_expect_json "/health back to 0 calls" "$SB_WORK/health.json" 'r.calls === 0'
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
