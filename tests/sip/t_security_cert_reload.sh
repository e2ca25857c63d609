#!/bin/bash
# Certificate renewal without a restart: the files at tls.cert / tls.key are
# replaced in place (as certbot or an ACME client does), SIGHUP, and new
# wss:// connections get the new certificate.
# EXPECTED TO FAIL until the daemon's reload calls lws_tls_cert_updated()
# for listen.https (proposed: sb_http_server_reload_cert in gateway/).
# SIP over TLS keeps the certificate it started with: sofia-sip 1.12.11
# loads it into the transport's SSL_CTX at bind time and has no reload;
# the test prints what the SIP TLS port presents, for information.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node openssl
sb_require_daemon
[ -d "$SB_ROOT/node_modules/ws" ] || sb_skip "node_modules/ws missing: run 'npm ci'"
sb_init

"$SB_ROOT/conf/make-dev-cert.sh" "$SB_WORK/a" >/dev/null 2>&1 || sb_die "make-dev-cert.sh a"
"$SB_ROOT/conf/make-dev-cert.sh" "$SB_WORK/b" >/dev/null 2>&1 || sb_die "make-dev-cert.sh b"
mkdir -p "$SB_WORK/live" && cp "$SB_WORK"/a/* "$SB_WORK/live/"
sb_free_port HTTPS_PORT
sb_free_port TLS_PORT
sb_daemon_config "$SB_WORK/sipbridge.conf"
sed -i -e "s|https = \"\";|https = \"127.0.0.1:$HTTPS_PORT\";|" \
	-e "s|sip   = \[ \(.*\) \];|sip   = [ \1, \"tls:127.0.0.1:$TLS_PORT\" ];|" \
	-e "s|tls:   { cert = \"\"; key = \"\";|tls:   { cert = \"$SB_WORK/live/localhost.crt\"; key = \"$SB_WORK/live/localhost.key\";|" \
	"$SB_WORK/sipbridge.conf"
SB_HTTP_URL="http://127.0.0.1:$SB_HTTP_PORT"
sb_bg sipbridge env ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
	LSAN_OPTIONS="suppressions=$SB_ROOT/tests/sip/security_tls.lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
	"$SB_BIN" -c "$SB_WORK/sipbridge.conf"
for ((i = 0; i < 100; i++)); do sb_health >/dev/null 2>&1 && break; sb_alive sipbridge || break; sleep 0.1; done
sb_health >/dev/null 2>&1 || { tail -20 "$SB_WORK/sipbridge.log"; sb_die "daemon did not start"; }

fp_file() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
fp_port() { sb_nsx timeout 5 openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null |
	openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }
A=$(fp_file "$SB_WORK/a/localhost.crt")
B=$(fp_file "$SB_WORK/b/localhost.crt")
sb_expect_eq "listen.https presents certificate A at start" "$A" "$(fp_port "$HTTPS_PORT")"
sb_expect_eq "SIP TLS presents certificate A at start" "$A" "$(fp_port "$TLS_PORT")"

cp "$SB_WORK"/b/* "$SB_WORK/live/"
kill -HUP "$(sb_pid sipbridge)"
sb_wait_log sipbridge 'configuration reloaded from' 5
sb_expect_eq "listen.https presents certificate B after SIGHUP" "$B" "$(fp_port "$HTTPS_PORT")"
r=$(NODE_PATH=$SB_ROOT/node_modules timeout 10 ip netns exec "$SB_NS" node "$SB_ROOT/tests/sip/security_ws.js" \
	open "wss://127.0.0.1:$HTTPS_PORT/" --insecure); echo "  wss after reload: $r"
sb_check "wss:// still opens after the reload" grep -q '"open":true' <<<"$r"
sip=$(fp_port "$TLS_PORT")
echo "  SIP TLS after SIGHUP: $([ "$sip" = "$B" ] && echo "B (reloaded)" || { [ "$sip" = "$A" ] && echo "A (kept: sofia has no reload)" || echo "?"; })"
sb_check "daemon alive" sb_alive sipbridge
sb_stop sipbridge 5 TERM; rc=$?
sb_expect_eq "exit status after SIGTERM" 0 "$rc"
sb_check_sanitizers
sb_finish
