#!/bin/bash
# Hold and resume mid-call from the browser, through the proxy and the
# media anchor: JsSIP calls baresip (auto-answer, plays 400 Hz); the page
# hears 400 Hz; call.hold() (re-INVITE a=sendonly) -> baresip answers
# recvonly and the page's audio goes quiet; call.unhold() -> 400 Hz again.
# The call ends cleanly (no call/transaction left). SB_LIB=sipjs puts SIP.js
# in the page instead (t_sig_hold_sipjs_baresip.sh: its hold is a
# re-INVITE through its session description handler's hold option).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node baresip sox
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
  const ua = await sb.ua({ lib: a.lib, ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call(a.target, { timeoutMs: 20000 });
  const r = { state: call.state };
  if (call.state !== 'confirmed') { r.summary = call.summary(); return r; }
  await sb.sleep(1500);
  r.before = await call.tone(1500);
  r.hold = await call.hold();
  r.holdSdp = call.localSdp && (call.localSdp.match(/a=(sendonly|inactive|sendrecv|recvonly)/) || [])[1];
  await sb.sleep(1500);
  r.during = await call.tone(1500);
  r.unhold = await call.unhold();
  await sb.sleep(1500);
  r.after = await call.tone(1500);
  r.stats = await call.stats();
  r.hangup = await call.hangup();
  r.summary = call.summary();
  return r;
}
JS
sb_browser call 70 --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"lib\":\"${SB_LIB:-jssip}\",\"target\":\"sip:callee@127.0.0.1:$BS_PORT\"}" @"$SB_WORK/call.js"
J=$SB_WORK/call.json
echo "  before: $(sb_json "$J" r.before)"
echo "  during: $(sb_json "$J" r.during)"
echo "  after:  $(sb_json "$J" r.after)"
sb_expect_json "call confirmed" "$J" 'r.state === "confirmed"'
sb_expect_json "before hold: the page hears 400 Hz" "$J" 'r.before && Math.abs(r.before.peakHz - 400) < 15 && r.before.peakDb > -60'
sb_expect_json "hold accepted (re-INVITE answered)" "$J" 'r.hold && r.hold.ok'
sb_expect_json "on hold: the page hears no tone (quiet)" "$J" 'r.during && (r.during.rms < r.before.rms / 10 || r.during.peakDb < r.before.peakDb - 20)'
sb_expect_json "resume accepted" "$J" 'r.unhold && r.unhold.ok'
sb_expect_json "after resume: 400 Hz again" "$J" 'r.after && Math.abs(r.after.peakHz - 400) < 15 && r.after.peakDb > r.before.peakDb - 10'
sb_expect_json "browser hung up cleanly" "$J" 'r.hangup && r.hangup.state === "ended"'
sb_expect_idle 10
sb_stop baresip 5
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
