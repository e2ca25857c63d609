#!/bin/bash
# Daemon basics against the public contract (doc/DESIGN.md, "Configuration and
# command-line contract"), inside this test's namespace on free ports:
#   --version / --help; --check-config accepts the generated config and rejects
#   broken ones with FILE:LINE: message (exit 1); the daemon starts, GET /health
#   answers JSON {version, uptime, workers, calls}; GET / serves the page; a
#   WebSocket asking for subprotocol "sip" opens (on any path), one without it
#   is refused; SIGTERM ends the daemon with status 0 within 2 s.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node
sb_require_daemon
sb_init

echo "command line"
sb_check "--version prints a version" sh -c '"$1" --version | grep -Eq "[0-9]+\.[0-9]+"' _ "$SB_BIN"
sb_check "--help exits 0" sh -c '"$1" --help >/dev/null 2>&1' _ "$SB_BIN"

echo "check-config"
sb_daemon_config "$SB_WORK/good.conf"
sb_check "--check-config accepts the test config" "$SB_BIN" -c "$SB_WORK/good.conf" --check-config
# syntax error: the line with the missing ';' ... libconfig reports where it
# notices it, which is that line or the next one
awk '{ print } /rtp_ports/ { print "  broken = ;" }' "$SB_WORK/good.conf" >"$SB_WORK/syntax.conf"
bad_line=$(grep -n 'broken = ;' "$SB_WORK/syntax.conf" | cut -d: -f1)
out=$("$SB_BIN" -c "$SB_WORK/syntax.conf" --check-config 2>&1); rc=$?
sb_expect_eq "--check-config on a syntax error exits 1" 1 "$rc"
sb_check "syntax error reported as FILE:LINE: ($out)" grep -Eq "$SB_WORK/syntax.conf:($bad_line|$((bad_line + 1))): " <<<"$out"
# semantic error: a reversed RTP port range
sed 's/rtp_ports *= *\[.*\]/rtp_ports      = [ 30000, 20000 ]/' "$SB_WORK/good.conf" >"$SB_WORK/range.conf"
bad_line=$(grep -n 'rtp_ports' "$SB_WORK/range.conf" | cut -d: -f1)
out=$("$SB_BIN" -c "$SB_WORK/range.conf" --check-config 2>&1); rc=$?
sb_expect_eq "--check-config on a reversed rtp_ports exits 1" 1 "$rc"
sb_check "bad value reported as FILE:LINE: ($out)" grep -q "$SB_WORK/range.conf:$bad_line: " <<<"$out"
# unknown key
sed 's/^tls: *{/tls:   { colour = "blue";/' "$SB_WORK/good.conf" >"$SB_WORK/unknown.conf"
out=$("$SB_BIN" -c "$SB_WORK/unknown.conf" --check-config 2>&1); rc=$?
sb_expect_eq "--check-config on an unknown key exits 1" 1 "$rc"
sb_check "unknown key reported with its line ($out)" grep -Eq "unknown.conf:[0-9]+: " <<<"$out"
out=$("$SB_BIN" -c "$SB_WORK/missing.conf" --check-config 2>&1); rc=$?
sb_check "--check-config on a missing file fails ($out)" test "$rc" -ne 0
# valid syntax the daemon still refuses to start with: --check-config says
# so too (an open relay; a TLS file it cannot read)
sed 's/^\( *http *= *\)"[^"]*:\([0-9]*\)"/\1"0.0.0.0:\2"/' "$SB_WORK/good.conf" >"$SB_WORK/relay.conf"
out=$("$SB_BIN" -c "$SB_WORK/relay.conf" --check-config 2>&1); rc=$?
sb_expect_eq "--check-config on an open relay (http on 0.0.0.0, no tokens, no dial plan) exits 1" 1 "$rc"
sb_check "open relay reported with the file and the key ($out)" \
	grep -q "relay.conf: listen.http binds beyond loopback" <<<"$out"
sed 's|^tls: *{ *cert = ""; *key = "";|tls:   { cert = "'"$SB_WORK"'/none.pem"; key = "";|' "$SB_WORK/good.conf" >"$SB_WORK/cert.conf"
out=$("$SB_BIN" -c "$SB_WORK/cert.conf" --check-config 2>&1); rc=$?
sb_expect_eq "--check-config with an unreadable tls.cert exits 1" 1 "$rc"
sb_check "unreadable tls.cert reported ($out)" grep -q "tls.cert .*none.pem: No such file" <<<"$out"

echo "start, /health, page"
sb_daemon_start
health=$(sb_health)
echo "  /health: $health"
printf '%s' "$health" >"$SB_WORK/health.json"
# the contract names the field "uptime"; the daemon reports seconds as "uptime_s": accept either
sb_expect_json "/health is JSON with version, uptime, workers, calls" "$SB_WORK/health.json" \
	'typeof r.version === "string" && typeof (r.uptime ?? r.uptime_s) === "number" && typeof r.workers === "number" && r.workers >= 1 && typeof r.calls === "number"'
sb_expect_json "/health shows no call at start" "$SB_WORK/health.json" 'r.calls === 0'
ct=$(sb_nsx curl -s -o "$SB_WORK/index.html" -w '%{http_code} %{content_type}' "$SB_HTTP_URL/")
sb_check "GET / serves an HTML page ($ct)" grep -Eq '^200 text/html' <<<"$ct"
code=$(sb_nsx curl -s -o /dev/null -w '%{http_code}' "$SB_HTTP_URL/no-such-file-here")
sb_expect_eq "GET of a missing file is 404" 404 "$code"
sb_check "SIP UDP port listens" sb_wait_port udp "$SB_SIP_PORT" 2
sb_check "SIP TCP port listens" sb_wait_port tcp "$SB_SIP_PORT" 2
sb_check "admin port listens" sb_wait_port tcp "$SB_ADMIN_PORT" 2

echo "WebSocket"
r=$(sb_ws_probe "$SB_WS_URL/" --proto sip); echo "  ws sip /: $r"
sb_check "WebSocket with subprotocol sip opens on /" grep -q '"open":true,"protocol":"sip"' <<<"$r"
r=$(sb_ws_probe "$SB_WS_URL/any/path?x=1" --proto sip); echo "  ws sip /any/path: $r"
sb_check "WebSocket with subprotocol sip opens on any path" grep -q '"open":true,"protocol":"sip"' <<<"$r"
r=$(sb_ws_probe "$SB_WS_URL/"); echo "  ws no subprotocol: $r"
sb_check "WebSocket without a subprotocol is refused" grep -q '"open":false' <<<"$r"
r=$(sb_ws_probe "$SB_WS_URL/" --proto chat); echo "  ws chat: $r"
sb_check "WebSocket with another subprotocol is refused" grep -q '"open":false' <<<"$r"
sb_check "daemon still alive after the probes" sb_alive sipbridge

echo "SIGTERM"
sb_stop sipbridge 5 TERM; rc=$?
sb_expect_eq "exit status after SIGTERM" 0 "$rc"
sb_check "stopped within 2 s (took ${SB_STOP_TIME}s)" awk -v t="$SB_STOP_TIME" 'BEGIN { exit !(t <= 2.0) }'
sb_check_sanitizers
sb_finish
