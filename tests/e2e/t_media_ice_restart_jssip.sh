#!/bin/bash
# ICE restart from the browser mid-call (RFC 8445 §9): JsSIP calls
# baresip (PCMU, plays 400 Hz) and hears it; the browser re-INVITEs with
# an ICE restart (new ufrag/pwd); the gateway's answer carries new
# credentials and a new port too, ICE runs again, the gateway takes the
# new pair's socket from libnice, and the page hears 400 Hz again. Meanwhile
# the admin API shows the gateway answering Chromium's checks on the new
# pair itself (stun_rx grows) and its consent requests answered.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
. "$(dirname "$0")/../lib/media.sh"       # sb_json_checks
sb_require_cmd node baresip sox curl
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_baresip_callee PCMU 60
sb_daemon_start
sb_bg baresip baresip -f "$SB_WORK/bs" -t 55
sb_wait_port udp "$BS_PORT" 10 || sb_die "baresip did not listen"

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call(a.target, { timeoutMs: 20000 });
  const r = { state: call.state };
  if (call.state !== 'confirmed') { r.summary = call.summary(); return r; }
  const ufrag = sdp => sdp && (sdp.match(/a=ice-ufrag:(\S+)/) || [])[1];
  const port = sdp => sdp && (sdp.match(/m=audio (\d+)/) || [])[1];
  await sb.sleep(1500);
  r.before = await call.tone(1500);
  r.localUfrag1 = ufrag(call.localSdp);
  r.remoteUfrag1 = ufrag(call.remoteSdp);
  r.remotePort1 = port(call.remoteSdp);
  sb.emit('test', 'restarting');
  r.restart = await call.iceRestart();
  r.localUfrag2 = ufrag(call.localSdp);
  r.remoteUfrag2 = ufrag(call.remoteSdp);
  r.remotePort2 = port(call.remoteSdp);
  await sb.sleep(2000);
  r.after = await call.tone(1500);
  sb.emit('test', 'restarted');
  await sb.sleep(a.holdMs);             // the shell reads the API meanwhile
  r.after2 = await call.tone(1000);
  r.hangup = await call.hangup();
  r.summary = call.summary();
  return r;
}
JS
ADMIN="http://127.0.0.1:$SB_ADMIN_PORT"
adm() { sb_nsx curl -s --max-time 5 -o "$SB_WORK/$1" -w '%{http_code}' "$ADMIN$2"; }
sb_browser_bg call --timeout 70 --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"target\":\"sip:callee@127.0.0.1:$BS_PORT\",\"holdMs\":7000}" \
	@"$SB_WORK/call.js"
sb_wait_log call '"restarted"' 40 || sb_die "no ICE restart: $(tail -n 5 "$SB_WORK/call.log")"
adm calls.json /api/calls >/dev/null
CALL=$(sb_json "$SB_WORK/calls.json" 'r.calls[0].call_id')
adm d1.json "/api/calls/$CALL" >/dev/null
sleep 6
adm d2.json "/api/calls/$CALL" >/dev/null
sb_wait call 40
J=$SB_WORK/call.json
echo "  before: $(sb_json "$J" r.before)"
echo "  after:  $(sb_json "$J" r.after)"
echo "  ufrags: $(sb_json "$J" '[r.localUfrag1, r.localUfrag2, r.remoteUfrag1, r.remoteUfrag2].join(" ")')"
sb_expect_json "call confirmed" "$J" 'r.state === "confirmed"'
sb_expect_json "before the restart: the page hears 400 Hz" "$J" 'r.before && Math.abs(r.before.peakHz - 400) < 15 && r.before.peakDb > -60'
sb_expect_json "restart re-INVITE answered" "$J" 'r.restart && r.restart.ok'
sb_expect_json "the browser's offer has new ICE credentials" "$J" 'r.localUfrag1 && r.localUfrag2 && r.localUfrag1 !== r.localUfrag2'
sb_expect_json "the gateway's answer has new ICE credentials" "$J" 'r.remoteUfrag1 && r.remoteUfrag2 && r.remoteUfrag1 !== r.remoteUfrag2'
sb_expect_json "and a new port (Chromium keeps old-ufrag pairs to an address it knows)" "$J" 'r.remotePort1 && r.remotePort2 && r.remotePort1 !== r.remotePort2'
sb_expect_json "after the restart: 400 Hz again" "$J" 'r.after && Math.abs(r.after.peakHz - 400) < 15 && r.after.peakDb > r.before.peakDb - 10'
sb_expect_json "and still 7 s later" "$J" 'r.after2 && Math.abs(r.after2.peakHz - 400) < 15 && r.after2.peakDb > r.before.peakDb - 10'
python3 - "$SB_WORK/d1.json" "$SB_WORK/d2.json" >"$SB_WORK/live.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print(json.dumps({"a": a, "b": b}))
PY
sb_json_checks "$SB_WORK/live.json" <<'CHECKS'
after the restart the gateway answers Chromium's checks on the new pair itself (stun_rx grows)	r.b.legs.browser.stun_rx > r.a.legs.browser.stun_rx
and Chromium answers its consent requests	r.b.legs.browser.consent_ok > 0
the browser's packets keep coming	r.b.legs.browser.rx_packets - r.a.legs.browser.rx_packets > 200
CHECKS
sb_expect_json "browser hung up cleanly" "$J" 'r.hangup && r.hangup.state === "ended"'
sb_expect_idle 10
sb_stop baresip 5
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
