#!/bin/bash
# Dual stack: the browser reaches the gateway over IPv4 (127.0.0.1, where
# media.address is), the SIP side is IPv6: the gateway's SIP listener is
# on [::1] and baresip answers there. JsSIP calls sip:callee@[::1]:PORT
# through route.outbound_proxy = sip:[::1]:PORT; the gateway offers
# baresip RTP on ::1 (the IPv6 SIP listener's address, as media.address
# is IPv4), and audio flows both ways: the page hears baresip's 400 Hz,
# baresip records the browser's 1 kHz. While the call is up the admin API
# shows the SIP leg's peer at [::1] and the browser leg's at 127.0.0.1.
SB_SIP_IP=::1
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"      # sb_expect_idle
sb_require_cmd node baresip sox curl
sb_require_daemon
sb_require_node_modules
sb_init
sb_nsx python3 -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null ||
	sb_skip "no IPv6 loopback in the namespace"
sb_bundle

sb_baresip_callee PCMU 30
sb_daemon_start
sb_bg baresip baresip -f "$SB_WORK/bs" -t 40
sb_wait_port udp "$BS_PORT" 10 || sb_die "baresip did not listen"

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call(a.target, { timeoutMs: 20000 });
  const r = { state: call.state };
  if (call.state !== 'confirmed') { r.summary = call.summary(); return r; }
  await sb.sleep(1500);
  r.tone = await call.tone(2000);
  sb.emit('test', 'heard');
  await sb.sleep(a.holdMs);              // the shell reads the API meanwhile
  r.stats = await call.stats();
  r.remoteSdp = call.remoteSdp;
  r.hangup = await call.hangup();
  await sb.sleep(500);
  return r;
}
JS
ADMIN="http://$SB_IPH:$SB_ADMIN_PORT"
adm() { sb_nsx curl -s --max-time 5 -o "$SB_WORK/$1" -w '%{http_code}' "$ADMIN$2"; }
sb_browser_bg call --timeout 60 --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"target\":\"sip:callee@[::1]:$BS_PORT\",\"holdMs\":2000}" \
	@"$SB_WORK/call.js"
if sb_wait_log call '"heard"' 40; then
	adm calls.json /api/calls >/dev/null
	CALL=$(sb_json "$SB_WORK/calls.json" 'r.calls[0].call_id')
	adm api_call.json "/api/calls/$CALL" >/dev/null
fi
sb_wait call 40
J=$SB_WORK/call.json
echo "  browser result: $(head -c 600 "$J" 2>/dev/null)"
echo "  call in the admin API: $(head -c 900 "$SB_WORK/api_call.json" 2>/dev/null)"

sb_expect_json "call confirmed" "$J" 'r.state === "confirmed"'
sb_expect_json "the browser is answered on IPv4 (media.address)" "$J" '/c=IN IP4 127\.0\.0\.1/.test(r.remoteSdp)'
sb_expect_json "browser hears baresip's 400 Hz" "$J" 'r.tone && Math.abs(r.tone.peakHz - 400) < 12 && r.tone.peakDb > -60'
sb_expect_json "browser's DTLS connected" "$J" 'r.stats.transport.dtlsState === "connected"'
A=$SB_WORK/api_call.json
sb_check "the SIP leg's peer is baresip on [::1]" grep -Eq '"remote": *"\[::1\]:[0-9]+"' "$A"
sb_check "the browser leg's peer is on 127.0.0.1" grep -q '"remote": *"127\.0\.0\.1:' "$A"

sleep 1
sb_stop baresip 5 TERM
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
sb_expect_tone "baresip (IPv6) hears the browser's 1 kHz" "$rec" 1000 -20

sb_expect_idle 10
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
