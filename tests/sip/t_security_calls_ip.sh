#!/bin/bash
# Call limits for anonymous browsers (no token): they are counted per
# address with limits.calls_per_ip, not with the per-user bound, because
# many people may share one address (a NAT, a reverse proxy on loopback).
#   calls_per_user = 1, calls_per_ip = 2: two anonymous WebSockets from
#   127.0.0.1 each get a call answered (the per-user 1 does not apply);
#   the third call from that address gets 503 (too many calls from this
#   address) with Retry-After and a limit-hit log line; after a BYE the
#   address has a free slot again.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sipp
sb_require_daemon
[ -d "$SB_ROOT/node_modules/ws" ] || sb_skip "node_modules/ws missing: run 'npm ci'"
sb_init

sb_free_port UAS_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS_PORT"
SB_CONF_EXTRA="limits: { calls_per_user = 1; calls_per_ip = 2; };"
sb_daemon_start
LOG=$SB_WORK/sipbridge.log
sb_sipp uas -sf "$SB_SIPP_DIR/uas_answer.xml" -p "$UAS_PORT" -set pt 0 -set codec PCMU
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp UAS did not start"

client() {  # NAME USER STEP...: an anonymous client in the background
	local name=$1 user=$2; shift 2
	sb_bg "$name" env NODE_PATH="$SB_ROOT/node_modules" node "$SB_ROOT/tests/sip/security_ws.js" \
		calls "$SB_WS_URL" --timeout 15000 --user "$user" "$@"
}
step() { sb_json "$SB_WORK/$1.json" "r.steps[$2].status + ' ' + r.steps[$2].reason + '|' + (r.steps[$2].retryAfter || '')"; }

S=$SB_WORK
client ann ann inv:+442071230001 inv:+442071230002 touch:$S/a1 waitfile:$S/b1 \
	bye:0 inv:+442071230003 touch:$S/a2 waitfile:$S/b2 bye:1 bye:2
client ben ben waitfile:$S/a1 inv:+442071230004 touch:$S/b1 waitfile:$S/a2 touch:$S/b2
for n in ann ben; do
	sb_wait "$n" 40; rc=$?
	[ "$rc" -eq 0 ] || sb_fail "client $n exited with $rc"
	tail -n 1 "$SB_WORK/$n.log" >"$SB_WORK/$n.json"
	echo "  $n: $(cat "$SB_WORK/$n.json")"
done

sb_expect_eq "ann's first call answered" "200 OK|" "$(step ann 0)"
sb_expect_eq "ann's second call answered too (the per-user 1 is for token users)" "200 OK|" "$(step ann 1)"
sb_expect_eq "ben's call, the third from 127.0.0.1: 503 with Retry-After" \
	"503 Service Unavailable (too many calls from this address)|5" "$(step ben 1)"
sb_check "log: limit-hit limit=calls-per-ip max=2" \
	grep -Eq 'security: event=limit-hit ip=127\.0\.0\.1 limit=calls-per-ip( user="[^"]*")? max=2$' "$LOG"
sb_expect_eq "after ann's BYE the address has a slot: her next call is answered" "200 OK|" "$(step ann 4)"

health=$(sb_health)
sb_check "no call left in /health" grep -q '"calls":0' <<<"$health"
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers "$LOG"
sb_finish
