#!/bin/bash
# media.stun_server behind a simulated 1:1 NAT. The test's namespace gets
# two iptables rules: UDP to 127.0.0.77 is DNATed to 127.0.0.1 (the NAT's
# public address), and UDP sent straight to the gateway's media ports on
# 127.0.0.1 is dropped unless it came through that DNAT. A test STUN server
# (tests/lib/stun_server.js) tells the gateway it is 127.0.0.77 from
# outside. So the browser can reach the gateway only at the server-reflexive
# candidate the gateway learnt and offers:
#   - the gateway logs the learnt address;
#   - JsSIP's echo call gets a srflx candidate at 127.0.0.77 with the host
#     candidate's port, connects (DTLS), selects the srflx pair and hears
#     its own 1 kHz back;
#   - after hold and resume (re-INVITEs), the answer still offers the
#     srflx candidate and the audio comes back. (Once the worker reads the
#     pair's socket itself and libnice's agent is gone, the kept
#     description carries the twin too: test_ice_direct test_kept_srflx.)
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sox iptables
sb_require_node_modules
sb_require_daemon
sb_init
sb_bundle

sb_free_port STUN_PORT
sb_free_range SB_RTP_LO SB_RTP_HI 200
SB_STUN_SERVER="127.0.0.1:$STUN_PORT"
SB_OUTBOUND_PROXY=""
ip netns exec "$SB_NS" iptables -t nat -A OUTPUT -p udp -d 127.0.0.77 \
	-j DNAT --to-destination 127.0.0.1 || sb_die "iptables nat: $?"
ip netns exec "$SB_NS" iptables -A OUTPUT -p udp -d 127.0.0.1 --dport "$SB_RTP_LO:$SB_RTP_HI" \
	-m conntrack ! --ctstate DNAT -j DROP || sb_die "iptables filter: $?"
sb_bg stun node "$SB_ROOT/tests/lib/stun_server.js" 127.0.0.1 "$STUN_PORT" 127.0.0.77
sb_wait_port udp "$STUN_PORT" 5 || sb_die "the test STUN server did not start"
sb_daemon_start
for _ in $(seq 50); do
	grep -q 'this gateway is 127.0.0.77 from outside' "$SB_WORK/sipbridge.log" && break
	sleep 0.1
done
sb_check "the gateway learnt its mapped address from media.stun_server" \
	grep -q 'media.stun_server .*: this gateway is 127.0.0.77 from outside' "$SB_WORK/sipbridge.log"
sb_tone "$SB_WORK/mic.wav" 1000 48000 60

cat >"$SB_WORK/echo.js" <<'JS'
async (a) => {
  const R = {};
  const ua = await sb.ua({ lib: 'jssip', name: 'alice', ws: a.ws, uri: 'sip:alice@sipbridge.test' });
  R.connected = ua.connected;
  if (!ua.connected) return R;
  const c = await ua.call('sip:echo@sipbridge.test', { timeoutMs: 10000 });
  R.state = c.state;
  const pc = c.pc();
  R.answer = pc && pc.remoteDescription ? pc.remoteDescription.sdp : null;
  if (c.state === 'confirmed') {
    await sb.sleep(1500);
    R.tone = await c.tone(2000);
    R.stats = await c.stats();
    // a re-offer after the gateway took the pair over: still the twin
    R.hold = await c.hold();
    R.unhold = await c.unhold();
    R.answer2 = pc.remoteDescription ? pc.remoteDescription.sdp : null;
    await sb.sleep(1000);
    R.tone2 = await c.tone(1500);
    R.end = await c.hangup();
  }
  R.summary = c.summary();
  await ua.stop();
  return R;
}
JS
sb_browser echo 75 --timeout 50 --wav "$SB_WORK/mic.wav" --arg "{\"ws\":\"$SB_WS_URL\"}" "@$SB_WORK/echo.js"
sb_expect_eq "browser driver exit status" 0 $?
J=$SB_WORK/echo.json
echo "  info: candidates $(sb_json "$J" 'r.answer && r.answer.split("\r\n").filter(l => /^a=candidate/.test(l))' 2>/dev/null)"
echo "  info: selected pair $(sb_json "$J" 'r.stats && r.stats.selectedPair' 2>/dev/null)"
sb_expect_json "the answer offers a srflx candidate at 127.0.0.77, the host's port, raddr the host" "$J" \
	'(() => { const h = /a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/.exec(r.answer || "");
	  return !!h && new RegExp("a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.77 " + h[1] + " typ srflx raddr 127\\.0\\.0\\.1 rport " + h[1]).test(r.answer); })()'
sb_expect_json "echo call confirmed" "$J" 'r.state === "confirmed"'
sb_expect_json "DTLS connected" "$J" 'r.stats && r.stats.transport && r.stats.transport.dtlsState === "connected"'
sb_expect_json "the selected pair is the srflx candidate (the only way in)" "$J" \
	'r.stats && /<-> 127\.0\.0\.77:\d+\/udp\(srflx\)/.test(r.stats.selectedPair || "")'
sb_expect_json "browser hears its own 1 kHz back through the NAT" "$J" \
	'r.tone && Math.abs(r.tone.peakHz - 1000) < 20 && r.tone.rms > 0.02'
sb_expect_json "hold and resume (re-INVITEs) answered" "$J" 'r.hold && r.hold.ok && r.unhold && r.unhold.ok'
sb_expect_json "the answer to the re-offer still has the srflx candidate" "$J" \
	'/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.77 \d+ typ srflx/.test(r.answer2 || "")'
sb_expect_json "after resuming, the 1 kHz is back" "$J" \
	'r.tone2 && Math.abs(r.tone2.peakHz - 1000) < 20 && r.tone2.rms > 0.02'
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
