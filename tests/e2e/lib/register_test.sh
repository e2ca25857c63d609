# shellcheck shell=bash
# Body shared by t_register_jssip.sh and t_register_sipjs.sh (set SB_LIB first).
#
# EXPECTED TO FAIL until the gateway's SIP proxy (WebSocket <-> UDP through
# sofia-sip NTA toward route.outbound_proxy) exists.
#
# A browser UA (JsSIP or SIP.js) REGISTERs over the gateway's WebSocket; the
# gateway relays to a sipp registrar (tests/sip/scenarios/registrar_401.xml)
# that challenges with 401 and verifies the digest:
#   1. right password: 401 reaches the browser, its retry carries a digest the
#      registrar accepts (so the gateway left Authorization untouched), 200
#      reaches the browser; the REGISTER the registrar saw came over UDP from
#      the gateway (top Via), and either carries a Path to the gateway or a
#      Contact aliased away from the browser's *.invalid host.
#   2. wrong password: the registrar's 403 reaches the browser.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sipp sox
sb_require_node_modules
sb_require_daemon
sb_init
echo "NOTE: expected to fail until the SIP proxy (WS <-> UDP via NTA) lands"
sb_bundle

sb_free_port REG_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$REG_PORT"
sb_daemon_start

run_register() { # NAME PASSWORD
	cat >"$SB_WORK/$1.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: a.lib, name: a.lib, ws: a.ws, uri: 'sip:alice@sipbridge.test', password: a.password });
  const R = { connected: ua.connected };
  if (ua.connected) R.register = await ua.register(10000);
  R.events = sb.events.map(e => `${e.t} ${e.who} ${e.ev} ${e.status || ''}`);
  // no ua.stop(): SIP.js would un-REGISTER at once, and the one-shot sipp
  // registrar treats a REGISTER after its 200 as unexpected; closing the
  // browser just drops the WebSocket
  return R;
}
JS
	sb_browser "$1" 60 --timeout 40 \
		--arg "{\"lib\":\"$SB_LIB\",\"ws\":\"$SB_WS_URL\",\"password\":\"$2\"}" "@$SB_WORK/$1.js"
}

echo "1. $SB_LIB REGISTER, right password"
sb_sipp reg -sf "$SB_SIPP_DIR/registrar_401.xml" -p "$REG_PORT" -m 1 -set user alice -set pass secret
sb_wait_port udp "$REG_PORT" 5 || sb_die "registrar did not listen"
run_register ok secret
sb_expect_eq "browser driver exit status" 0 $?
J=$SB_WORK/ok.json
sb_expect_json "WebSocket to the gateway connected" "$J" 'r.connected === true'
sb_expect_json "200 OK reached the browser" "$J" 'r.register && r.register.ok && r.register.status === 200'
sb_wait reg 10
sb_expect_eq "registrar verified the digest and sent 200 (exit 0)" 0 $?
M=$SB_WORK/reg.msg
sb_check "registrar got 2 REGISTERs (challenge + retry)" test "$(grep -c '^REGISTER ' "$M" 2>/dev/null)" -eq 2
sb_check "REGISTER arrived over UDP via the gateway (top Via 127.0.0.1:$SB_SIP_PORT)" \
	grep -Eiq "^Via: SIP/2.0/UDP 127.0.0.1:${SB_SIP_PORT}[;> ]" "$M"
sb_check "retried REGISTER carries the browser's Authorization" grep -q '^Authorization: Digest .*username="alice"' "$M"
if grep -qi '^Path:' "$M"; then
	sb_check "Path points at the gateway" grep -Eiq "^Path:.*127.0.0.1:$SB_SIP_PORT" "$M"
else
	sb_check "no Path: Contact aliased to the gateway (no .invalid host)" \
		sh -c 'grep -i "^Contact:" "$1" | grep -q "127.0.0.1:$2" && ! grep -i "^Contact:" "$1" | grep -q "\.invalid"' _ "$M" "$SB_SIP_PORT"
fi

echo "2. $SB_LIB REGISTER, wrong password"
sb_sipp reg2 -sf "$SB_SIPP_DIR/registrar_401.xml" -p "$REG_PORT" -m 1 -set user alice -set pass secret
sb_wait_port udp "$REG_PORT" 5 || sb_die "registrar did not listen"
run_register bad wrong-password
J=$SB_WORK/bad.json
sb_expect_json "403 reached the browser" "$J" 'r.register && !r.register.ok && r.register.status === 403'
sb_wait reg2 10; rc=$?
sb_check "registrar rejected the digest (exit $rc, 403 sent)" sh -c '[ "$1" -ne 0 ] && [ "$1" -ne 124 ] && grep -q "^SIP/2.0 403" "$2"' _ "$rc" "$SB_WORK/reg2.msg"

sb_check "daemon still running" sb_alive sipbridge
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
