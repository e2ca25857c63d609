#!/bin/bash
# route.outbound_proxy over TCP ("sip:IP:PORT;transport=tcp"), as PBXs and
# trunks that refuse UDP are configured: a browser's call (raw SIP over
# WebSocket) reaches a sipp UAS on TCP through the gateway's TCP listener,
# is answered, and the browser's BYE reaches it too. The INVITE sipp got
# carries a Record-Route with transport=tcp, so that the UAS's in-dialog
# requests come back over TCP.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sipp
sb_require_daemon
[ -d "$SB_ROOT/node_modules/ws" ] || sb_skip "node_modules/ws missing: run 'npm ci'"
sb_init

sb_free_port UAS_PORT
SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$UAS_PORT;transport=tcp"
sb_daemon_start
sb_sipp uas -t t1 -sf "$SB_SIPP_DIR/uas_answer.xml" -p "$UAS_PORT" -set pt 0 -set codec PCMU -m 1
sb_wait_port tcp "$UAS_PORT" 5 || sb_die "sipp UAS (TCP) did not start"

sb_bg client env NODE_PATH="$SB_ROOT/node_modules" node "$SB_ROOT/tests/sip/security_ws.js" \
	calls "$SB_WS_URL" --timeout 15000 inv:+442071234567 wait:500 bye:0
sb_wait client 30; rc=$?
sb_expect_eq "client exit status" 0 "$rc"
tail -n 1 "$SB_WORK/client.log" >"$SB_WORK/client.json"
echo "  client: $(cat "$SB_WORK/client.json")"
sb_expect_json "INVITE over TCP answered 200" "$SB_WORK/client.json" \
	'r.steps[0].status === 200'
sb_expect_json "BYE over TCP answered 200" "$SB_WORK/client.json" \
	'r.steps.find(s => s.step === "bye:0").status === 200'
sb_wait uas 10
sb_expect_eq "sipp UAS (TCP) completed its call (exit 0)" 0 "$?"
sb_check "the INVITE's Record-Route faces TCP" \
	grep -Eq '^Record-Route: .*transport=tcp' "$SB_WORK/uas.msg"
sb_expect_idle 10
sb_stop sipbridge 5 TERM; rc=$?
sb_expect_eq "exit status after SIGTERM" 0 "$rc"
sb_check_sanitizers
sb_finish
