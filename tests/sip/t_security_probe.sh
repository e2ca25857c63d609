#!/bin/bash
# What a port scanner or a TLS probe does to every listener: connect and
# close at once, a TLS handshake and nothing else, a line of junk. The
# daemon must stay up and keep answering after each one.
#   listen.http, listen.https (TLS), listen.admin, SIP TCP, SIP TLS
# EXPECTED TO FAIL until gateway/http_server.c checks pss for NULL: a
# connection closed before any HTTP request reaches LWS_CALLBACK_CLOSED_HTTP
# / HTTP_DROP_PROTOCOL with no per-session data, and http_common()
# dereferences it, so one TCP connect+close on listen.http kills the
# daemon (UBSan abort here; a NULL+offset read, SIGSEGV, in a release build).
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd openssl
sb_require_daemon
sb_init

"$SB_ROOT/conf/make-dev-cert.sh" "$SB_WORK/tls" >"$SB_WORK/cert.out" 2>&1 || sb_die "make-dev-cert.sh failed"
sb_free_port HTTPS_PORT
sb_free_port TLS_PORT
sb_daemon_config "$SB_WORK/sipbridge.conf"
sed -i -e "s|https = \"\";|https = \"127.0.0.1:$HTTPS_PORT\";|" \
	-e "s|sip   = \[ \(.*\) \];|sip   = [ \1, \"tls:127.0.0.1:$TLS_PORT\" ];|" \
	-e "s|tls:   { cert = \"\"; key = \"\";|tls:   { cert = \"$SB_WORK/tls/localhost.crt\"; key = \"$SB_WORK/tls/localhost.key\";|" \
	"$SB_WORK/sipbridge.conf"
SB_HTTP_URL="http://127.0.0.1:$SB_HTTP_PORT"
sb_bg sipbridge env ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
	LSAN_OPTIONS="suppressions=$SB_ROOT/tests/sip/security_tls.lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
	"$SB_BIN" -c "$SB_WORK/sipbridge.conf"
for ((i = 0; i < 100; i++)); do sb_health >/dev/null 2>&1 && break; sb_alive sipbridge || break; sleep 0.1; done
sb_health >/dev/null 2>&1 || { tail -20 "$SB_WORK/sipbridge.log"; sb_die "daemon did not start"; }

# still_up WHAT: the daemon is alive and /health answers
still_up() {
	sleep 0.3
	if sb_alive sipbridge && sb_health >/dev/null 2>&1; then
		sb_pass "alive after $1"
	else
		sb_fail "daemon gone after $1"
		grep -E -m2 'runtime error|ERROR: AddressSanitizer' "$SB_WORK/sipbridge.log" | sed 's/^/        /'
		sb_finish
	fi
}
tcp_close() { sb_nsx bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && exec 3>&-" 2>/dev/null; }
junk() { sb_nsx bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'GARBAGE \\x01\\x02\\r\\n\\r\\n' >&3 && sleep 0.2; exec 3>&-" 2>/dev/null; }
tls_only() { sb_nsx timeout 5 openssl s_client -connect "127.0.0.1:$1" </dev/null >/dev/null 2>&1; }

for p in "listen.http $SB_HTTP_PORT" "listen.https $HTTPS_PORT" "listen.admin $SB_ADMIN_PORT" \
	 "SIP TCP $SB_SIP_PORT" "SIP TLS $TLS_PORT"; do
	name=${p% *}; port=${p##* }
	tcp_close "$port"; still_up "TCP connect+close on $name"
	junk "$port"; still_up "junk bytes on $name"
done
tls_only "$HTTPS_PORT"; still_up "TLS handshake only on listen.https"
tls_only "$TLS_PORT"; still_up "TLS handshake only on SIP TLS"
sb_stop sipbridge 5 TERM; rc=$?
sb_expect_eq "exit status after SIGTERM" 0 "$rc"
sb_check_sanitizers
sb_finish
