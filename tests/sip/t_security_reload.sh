#!/bin/bash
# Security settings follow a SIGHUP reload without a restart:
#   token secret rotation: [A] -> [B, A] (both accepted) -> [B] (A refused
#     as token-forged, B accepted)
#   dial plan: +44 allowed -> denied (403) after the reload
#   limits.ws_per_ip: 3 -> 1
# A config that fails to load keeps the running one.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node
sb_require_daemon
[ -d "$SB_ROOT/node_modules/ws" ] || sb_skip "node_modules/ws missing: run 'npm ci'"
sb_init

A=aaaaaaaaaaaaaaaa-secret-one
B=bbbbbbbbbbbbbbbb-secret-two
extra() {  # SECRETS_LIST DIALPLAN_DEFAULT WS_PER_IP
	echo "auth: { token_secrets = [ $1 ]; };
dialplan: { default = [ $2 ]; };
limits: { ws_per_ip = $3; };"
}
SB_CONF_EXTRA=$(extra "\"$A\"" '"allow:+44*", "deny:*"' 3)
sb_daemon_start
LOG=$SB_WORK/sipbridge.log
wsc() { NODE_PATH=$SB_ROOT/node_modules timeout 30 ip netns exec "$SB_NS" node "$SB_ROOT/tests/sip/security_ws.js" "$@"; }
url() { echo "$SB_WS_URL/$("$SB_ROOT/conf/make-token.sh" "$1" alice 600 | sed -n 's/^query=//p')"; }
opens() { wsc open "$(url "$1")" | grep -q '"open":true'; }
shut() { ! opens "$1"; }
# reload EXTRA: rewrite the config with EXTRA, SIGHUP, wait until reloaded
reload() { SB_CONF_EXTRA=$1 sb_daemon_reload; }
call() { wsc calls "$(url "$1")" "inv:$2" | sed -n 's/.*"status":\([0-9]*\),"reason":"\([^"]*\)".*/\1 \2/p'; }

echo "start: secrets [A], +44 allowed, ws_per_ip 3"
sb_check "token signed with A opens" opens "$A"
sb_check "token signed with B refused" shut "$B"
r=$(call "$A" +442071234567); echo "  +44: $r"
sb_expect_eq "+44 passes the dial plan (then 404: no outbound proxy)" "404 Not Found (no route.outbound_proxy)" "$r"

echo "reload: secrets [B, A]"
sb_check "reloaded" reload "$(extra "\"$B\", \"$A\"" '"allow:+44*", "deny:*"' 3)"
sb_check "A still accepted (rotation overlap)" opens "$A"
sb_check "B accepted" opens "$B"

echo "reload: secrets [B], +44 denied, ws_per_ip 1 (and a key a reload cannot change)"
sb_check "reloaded" reload "$(extra "\"$B\"" '"deny:+44*", "allow:*"' 1)
web: { ws_max_message = 32768; };"
sb_check "log: web.ws_max_message needs a restart, said so" \
	grep -q 'reload: web.ws_max_message changed; the running values stay until sipbridge restarts' "$LOG"
sb_check "A refused after rotation" shut "$A"
sb_check "log: A is token-forged now" grep -q 'security: event=ws-refused ip=127.0.0.1 reason=token-forged' "$LOG"
sb_check "B accepted" opens "$B"
r=$(call "$B" +442071234567); echo "  +44: $r"
sb_expect_eq "+44 denied by the new dial plan" "403 Forbidden (destination not allowed by the dial plan)" "$r"
r=$(wsc hold "$(url "$B")" 2); echo "  2 connections: $r"
sb_check "ws_per_ip 1: the second connection refused" grep -q '"results":\[{"open":true},{"open":false' <<<"$r"

echo "a broken config keeps the running one"
SB_CONF_EXTRA='auth: { token_secrets = [ "short" ]; };' sb_daemon_config "$SB_CONF"
kill -HUP "$(sb_pid sipbridge)"
sb_wait_log sipbridge 'reload failed, keeping the running configuration' 5
sb_check "reload refused with a message" grep -q 'reload failed, keeping the running configuration: .*each secret needs at least 16 characters' "$LOG"
sb_check "B still accepted" opens "$B"
sb_check "daemon alive" sb_alive sipbridge
sb_stop sipbridge 5 TERM; rc=$?
sb_expect_eq "exit status after SIGTERM" 0 "$rc"
sb_check_sanitizers
sb_finish
