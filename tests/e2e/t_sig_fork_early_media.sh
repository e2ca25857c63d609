#!/bin/bash
# A forked call whose branches answer differently: JsSIP calls through the
# gateway; branch A (sipp) sends 183 with SDP and streams 1 kHz as early
# media, then branch B answers 200 with a different To-tag and its own SDP
# (another port, where tests/lib/rtp_tone_peer.js streams 400 Hz and
# listens). RFC 3261 §13.2.1 would have the 2xx repeat the early answer,
# but it comes from another UAS: the gateway must move the SIP side's
# media to B (before the fix it kept sending to A, and the page heard
# nothing after the answer). Checks: the page hears 1 kHz before the 200
# and 400 Hz after it, B receives the browser's audio, the call ends
# cleanly, nothing left.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sipp sox
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_free_port UAS_PORT; sb_free_sipp_media UAS_MEDIA; sb_free_port B_PORT
sb_tone "$SB_WORK/tone.ul" 1000 8000 20 ulaw
sb_tone "$SB_WORK/mic.wav" 700 48000 60
SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$UAS_PORT"
sb_daemon_start
sb_sipp uas -sf "$SB_SIPP_DIR/sig_uas_fork.xml" -p "$UAS_PORT" -mi "$SB_SIP_IP" -mp "$UAS_MEDIA" \
	-m 1 -d 4000 -set port2 "$B_PORT"
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp UAS did not listen"
# B streams once its 200 is out: an earlier packet would be the first the
# gateway hears, and it latches to the first source
sb_bg branchb node "$SB_ROOT/tests/lib/rtp_tone_peer.js" "$SB_SIP_IP" "$B_PORT" "$SB_WORK/uas.msg" 400 20 \
	'^SIP/2.0 200 OK'

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call('sip:bob@sipbridge.test', { wait: 'progress' });
  const r = {};
  await sb.sleep(1000);
  r.earlyState = call.state;
  r.early = await call.tone(1500);
  r.state = await call.waitState(['confirmed'], 10000);
  await sb.sleep(1500);
  r.tone = await call.tone(2000);
  r.summary = call.summary();
  r.hangup = await call.hangup();
  await sb.sleep(500);
  return r;
}
JS
sb_browser call 60 --wav "$SB_WORK/mic.wav" --arg "{\"ws\":\"$SB_WS_URL\"}" @"$SB_WORK/call.js"
echo "  browser result: $(sb_json "$SB_WORK/call.json" '({ earlyState: r.earlyState, early: r.early, state: r.state, tone: r.tone })')"
sb_expect_eq "the page was in early media when it listened" progress "$(sb_json "$SB_WORK/call.json" r.earlyState)"
sb_expect_near "early media: the page hears branch A's 1 kHz" 1000 \
	"$(sb_json "$SB_WORK/call.json" 'Math.round(r.early.peakHz)')" 25
sb_expect_eq "call confirmed by branch B's 200" confirmed "$(sb_json "$SB_WORK/call.json" r.state)"
sb_expect_near "after the 200: the page hears branch B's 400 Hz" 400 \
	"$(sb_json "$SB_WORK/call.json" 'Math.round(r.tone.peakHz)')" 12
sb_wait uas 15
sb_expect_eq "sipp: ACK and BYE for branch B (exit 0)" 0 "$?"
sb_wait branchb 25
b=$(tail -n 1 "$SB_WORK/branchb.log")
echo "  branch B: $b"
sb_expect_ge "branch B received the browser's audio (packets with sound)" 100 \
	"$(node -e 'try { console.log(JSON.parse(process.argv[1]).loud) } catch (e) { console.log(0) }' "$b")"
sb_check "the gateway logged the move to branch B's media" \
	grep -q "final answer differs from its early one" "$SB_WORK/sipbridge.log"
sb_expect_idle 10
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
