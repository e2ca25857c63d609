#!/bin/bash
# 183 early media from the SIP side: JsSIP calls a sipp UAS that answers
# 183 with SDP and streams a 1 kHz PCMU tone at once, sends a 180 with the
# same SDP (as carriers do; it was refused, and the page got an error
# response, before session 13), then 200 four seconds later. The page must hear the tone while the call is still in progress
# (before 200), then the call is confirmed (the 200 repeats the early
# answer, RFC 3261 §13.2.1), the tone goes on, the browser hangs up, the
# UAS gets the BYE, and no call or transaction is left.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sipp sox
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_free_port UAS_PORT; sb_free_sipp_media UAS_MEDIA
sb_tone "$SB_WORK/tone.ul" 1000 8000 20 ulaw
sb_tone "$SB_WORK/mic.wav" 400 48000 60
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS_PORT"
sb_daemon_start
sb_sipp uas -sf "$SB_SIPP_DIR/sig_uas_early.xml" -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MEDIA" -m 1 -d 5000
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp UAS did not listen"

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false, traceSip: true });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call(a.target, { wait: null, timeoutMs: 20000 });
  const r = {};
  r.progress = await call.waitState(['progress', 'confirmed', 'failed', 'ended'], 10000);
  r.stateAtEarly = call.state;
  await sb.sleep(500);
  r.early = await call.tone(1500);
  r.stateAfterEarlyTone = call.state;
  r.confirmed = await call.waitState(['confirmed', 'failed', 'ended'], 15000);
  await sb.sleep(500);
  r.answered = await call.tone(1500);
  r.hangup = await call.hangup();
  r.summary = call.summary();
  return r;
}
JS
sb_browser call 60 --wav "$SB_WORK/mic.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"target\":\"sip:bob@sipbridge.test\"}" @"$SB_WORK/call.js"
J=$SB_WORK/call.json
echo "  early:    $(sb_json "$J" r.early)"
echo "  answered: $(sb_json "$J" r.answered)"
sb_expect_json "183 reached the page (call in progress)" "$J" 'r.stateAtEarly === "progress"'
sb_expect_json "early media: 1 kHz heard before the 200" "$J" 'r.stateAfterEarlyTone === "progress" && r.early && Math.abs(r.early.peakHz - 1000) < 25 && r.early.peakDb > -60'
sb_check "the 180 that repeats the 183's SDP reached the page" grep -q '"line":"SIP/2.0 180 ' "$SB_WORK/call.log"
sb_expect_json "then the 200: call confirmed" "$J" '/confirmed/.test(JSON.stringify(r.summary.events))'
sb_expect_json "after the 200: 1 kHz still heard" "$J" 'r.answered && Math.abs(r.answered.peakHz - 1000) < 25'
sb_expect_json "browser hung up" "$J" 'r.hangup && r.hangup.state === "ended"'
sb_wait uas 15
sb_expect_eq "UAS: 183, 200, ACK, BYE answered (sipp exit)" 0 $?
sb_check "the UAS got the gateway's plain RTP offer" grep -q 'm=audio [0-9]* RTP/AVP' "$SB_WORK/uas.msg"
sb_expect_idle 10
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
