#!/bin/bash
# The daemon refuses to start as an open relay: listen.http on a
# non-loopback address (0.0.0.0 inside this test's namespace) with neither
# auth.token_secrets nor a dialplan -> exit 1 with the message and an
# "event=open-relay-refused" line. It starts with security.open_relay = true,
# with tokens, or with a dial plan; on loopback it starts with neither.
. "$(dirname "$0")/../lib/common.sh"
sb_require_daemon
sb_init

conf() {  # NAME HTTP_HOST EXTRA: write $SB_WORK/NAME.conf
	SB_CONF_EXTRA=$3 sb_daemon_config "$SB_WORK/$1.conf"
	sed -i "s|http  = \"127.0.0.1:|http  = \"$2:|" "$SB_WORK/$1.conf"
}
# starts NAME: the daemon comes up (GET /health) and stops cleanly on SIGTERM
starts() {
	local i
	sb_bg "$1" "$SB_BIN" -c "$SB_WORK/$1.conf"
	for ((i = 0; i < 100; i++)); do
		sb_alive "$1" || break
		sb_nsx curl -sf --max-time 1 "http://127.0.0.1:$SB_HTTP_PORT/health" >/dev/null 2>&1 && break
		sleep 0.1
	done
	sb_nsx curl -sf --max-time 1 "http://127.0.0.1:$SB_HTTP_PORT/health" >/dev/null 2>&1 || { tail -5 "$SB_WORK/$1.log"; return 1; }
	sb_stop "$1" 5 TERM
}

echo "0.0.0.0, no tokens, no dial plan"
conf relay 0.0.0.0 ""
sb_bg relay "$SB_BIN" -c "$SB_WORK/relay.conf"
sb_wait relay 10; rc=$?
sb_expect_eq "daemon exits with status 1" 1 "$rc"
sed 's/^/    /' "$SB_WORK/relay.log" | grep -E 'startup failed|security:'
sb_check "message names listen.http and the remedies" grep -q \
	"startup failed: listen.http binds beyond loopback with neither auth.token_secrets nor a dialplan: anyone could call any number through this gateway. Configure one, or set security.open_relay = true" \
	"$SB_WORK/relay.log"
sb_check "security line event=open-relay-refused" grep -Eq \
	'security: event=open-relay-refused ip=- target="listen\.http" reason=no-tokens-no-dialplan$' "$SB_WORK/relay.log"
sb_check "nothing listened on the HTTP port" sh -c '! ip netns exec "$1" ss -Hlnt "sport = :$2" | grep -q .' _ "$SB_NS" "$SB_HTTP_PORT"

echo "0.0.0.0 allowed by configuration"
conf open 0.0.0.0 "security: { open_relay = true; };"
sb_check "starts with security.open_relay = true" starts open
conf tokens 0.0.0.0 'auth: { token_secrets = [ "0123456789abcdef-test-secret" ]; };'
sb_check "starts with auth.token_secrets" starts tokens
conf dp 0.0.0.0 'dialplan: { default = [ "allow:+44*", "deny:*" ]; };'
sb_check "starts with a dial plan" starts dp
conf lo 127.0.0.1 ""
sb_check "starts on loopback with neither" starts lo
sb_check "no security line when allowed" sh -c '! grep -h "open-relay-refused" "$@"' _ \
	"$SB_WORK/open.log" "$SB_WORK/tokens.log" "$SB_WORK/dp.log" "$SB_WORK/lo.log"
sb_check_sanitizers "$SB_WORK/relay.log"
sb_finish
