#!/bin/bash
# Security on calls from browsers (raw SIP over WebSocket, identities from
# tokens), each refusal with its exact response and log line:
#   dial plan: +1900... -> 403 with the reason; +44... -> relayed, sipp answers;
#     conf-+1900... (no room name, so not the conference service) -> 403
#   limits.calls_per_user = 1 -> the user's second call gets 503 + Retry-After;
#     after BYE the slot is free again
#   limits.calls_total = 2 -> a third user's call gets 503 + Retry-After
#   limits.sdp_max_size / sdp_max_mlines -> 488
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sipp
sb_require_daemon
[ -d "$SB_ROOT/node_modules/ws" ] || sb_skip "node_modules/ws missing: run 'npm ci'"
sb_init

SECRET=0123456789abcdef-test-secret
sb_free_port UAS_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS_PORT"
SB_CONF_EXTRA="auth: { token_secrets = [ \"$SECRET\" ]; };
limits: { calls_per_user = 1; calls_total = 2; sdp_max_size = 2048; sdp_max_mlines = 2; };
dialplan: { default = [ \"deny:+1900*\", \"allow:+44*\", \"deny:*\" ]; };"
sb_daemon_start
LOG=$SB_WORK/sipbridge.log
sb_sipp uas -sf "$SB_SIPP_DIR/uas_answer.xml" -p "$UAS_PORT" -set pt 0 -set codec PCMU
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp UAS did not start"

url() { echo "$SB_WS_URL/$("$SB_ROOT/conf/make-token.sh" "$SECRET" "$1" 600 | sed -n 's/^query=//p')"; }
client() {  # NAME USER STEP...: run a client in the background, JSON in NAME.log
	local name=$1 user=$2; shift 2
	sb_bg "$name" env NODE_PATH="$SB_ROOT/node_modules" node "$SB_ROOT/tests/sip/security_ws.js" \
		calls "$(url "$user")" --timeout 15000 --user "$user" "$@"
}
# step NAME I: the I-th recorded step of client NAME as "status reason|retry-after"
step() { sb_json "$SB_WORK/$1.json" "r.steps[$2].status + ' ' + r.steps[$2].reason + '|' + (r.steps[$2].retryAfter || '')"; }
seclog_has() { grep -E -- "security: $1" "$LOG" >/dev/null; }

S=$SB_WORK
client alice alice inv:+19005550100 inv:+442071234567 inv:+442071234568 touch:$S/a1 \
	waitfile:$S/c1 bye:0 inv:+442071234569 bye:1 touch:$S/a2
client bob bob waitfile:$S/a1 inv:+442071230001 touch:$S/b1 waitfile:$S/c1 bye:0 \
	inv:conf-+19005550101
client carol carol waitfile:$S/b1 inv:+442071230002 touch:$S/c1 waitfile:$S/a2 \
	sdpsize:+442071230003:3000 mlines:+442071230004:3 inv:0044-20-7123-0005 bye:0
for n in alice bob carol; do
	sb_wait "$n" 40; rc=$?
	[ "$rc" -eq 0 ] || sb_fail "client $n exited with $rc"
	tail -n 1 "$SB_WORK/$n.log" >"$SB_WORK/$n.json"
	echo "  $n: $(cat "$SB_WORK/$n.json")"
done

echo "dial plan"
sb_expect_eq "+1900 number: 403 with the reason" \
	"403 Forbidden (destination not allowed by the dial plan)|" "$(step alice 0)"
sb_check "log: call-denied with user, target and rule" \
	seclog_has 'event=call-denied ip=127\.0\.0\.1 user="alice" target="\+19005550100" rule="deny:\+1900\*"$'
sb_expect_eq "+44 number: relayed and answered by sipp" "200 OK|" "$(step alice 1)"
sb_expect_eq "national format 0044-20-... normalised to +44, allowed" "200 OK|" "$(step carol 5)"
# a conference-looking name that is no room name goes to the trunk, so the
# dial plan judges it (it used to pass as the conference service)
sb_expect_eq "conf-+1900...: not a room, 403 by the dial plan" \
	"403 Forbidden (destination not allowed by the dial plan)|" "$(step bob 4)"
sb_check "log: call-denied for conf-+1900... by deny:*" \
	seclog_has 'event=call-denied ip=127\.0\.0\.1 user="bob" target="conf-\+19005550101" rule="deny:\*"$'

echo "calls per user (1)"
sb_expect_eq "alice's second call: 503 with Retry-After" \
	"503 Service Unavailable (too many calls for this user)|5" "$(step alice 2)"
sb_check "log: limit-hit limit=calls-per-user" \
	seclog_has 'event=limit-hit ip=127\.0\.0\.1 limit=calls-per-user user="alice" max=1$'
sb_expect_eq "BYE of the first call" "200 OK|" "$(step alice 4)"
sb_expect_eq "after the BYE the slot is free: new call answered" "200 OK|" "$(step alice 5)"

echo "calls in total (2)"
sb_expect_eq "bob's call (second in total) answered" "200 OK|" "$(step bob 1)"
sb_expect_eq "carol's call (third in total): 503 with Retry-After" \
	"503 Service Unavailable (gateway at its call limit)|5" "$(step carol 1)"
sb_check "log: limit-hit limit=calls-total" \
	seclog_has 'event=limit-hit ip=127\.0\.0\.1 limit=calls-total user="carol" max=2$'

echo "SDP bounds (2048 bytes, 2 m-lines)"
sdp=$(step carol 3); echo "  3000-byte offer: $sdp"
sb_check "offer over sdp_max_size: 488" grep -q '^488 ' <<<"$sdp"
sb_check "log: bad-message reason=sdp-too-large" \
	seclog_has 'event=bad-message ip=127\.0\.0\.1 reason=sdp-too-large user="carol" conn=[0-9]+$'
sdp=$(step carol 4); echo "  3 m-lines: $sdp"
sb_check "offer with 3 m-lines: 488" grep -q '^488 ' <<<"$sdp"
sb_check "log: bad-message reason=sdp-too-many-media" \
	seclog_has 'event=bad-message ip=127\.0\.0\.1 reason=sdp-too-many-media user="carol" conn=[0-9]+$'

n=$(grep -c 'INVITE sip:' "$SB_WORK/uas.msg" 2>/dev/null)
sb_expect_eq "INVITEs that reached the SIP side (only the allowed ones)" 4 "$n"
sleep 0.5
h=$(sb_health); echo "  /health: $h"
sb_check "no call left after the BYEs" grep -q '"calls":0' <<<"$h"
sb_stop sipbridge 5 TERM; rc=$?
sb_expect_eq "exit status after SIGTERM" 0 "$rc"
sb_check_sanitizers
sb_finish
