#!/bin/bash
# A phone that rings before it answers, as phones do. Headless Chromium +
# JsSIP calls baresip through the gateway; baresip rings (180, no SDP)
# for SB_RING_S seconds (default 15) and only then accepts, driven over
# its UDP console. The browser has no answer, so no ICE credentials of
# ours, during all that time. Checks: the call is still up when the phone
# answers (the gateway must not have given up on ICE meanwhile: before
# the fix its checks toward the browser ran out after about 5 s and the
# call ended "ICE failed" before anyone answered), it is confirmed, the
# page hears baresip's 400 Hz and baresip hears the browser's 1 kHz, the
# ring lasted as long as it should, and nothing is left afterwards.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node baresip sox
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

RING_S=${SB_RING_S:-15}
sb_baresip_callee PCMU $((RING_S + 25))
# ring instead of answering; accept when told on the console
sed -i 's/answermode=auto/answermode=manual/' "$SB_WORK/bs/accounts"
sb_free_port BS_CONS
printf 'module\t\t\tcons.so\ncons_listen\t\t%s:%s\n' "$SB_SIP_IPH" "$BS_CONS" >>"$SB_WORK/bs/config"
sb_daemon_start
sb_bg baresip baresip -f "$SB_WORK/bs" -t $((RING_S + 40))
sb_wait_port udp "$BS_PORT" 5 || sb_die "baresip did not listen"

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const t0 = Date.now();
  const call = await ua.call(a.target, { timeoutMs: a.waitMs });
  const r = { state: call.state, status: call.status, answeredAfterMs: Date.now() - t0,
              events: call.summary().events };
  if (call.state !== 'confirmed') { r.summary = call.summary(); return r; }
  await sb.sleep(1500);
  r.tone = await call.tone(2000);
  r.stats = await call.stats();
  r.hangup = await call.hangup();
  await sb.sleep(500);
  return r;
}
JS
echo "browser -> gateway -> baresip, which rings ${RING_S} s before it answers"
sb_browser call $((RING_S + 60)) --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"target\":\"sip:callee@$SB_SIP_IPH:$BS_PORT\",\"waitMs\":$(((RING_S + 20) * 1000))}" \
	@"$SB_WORK/call.js" &
browser=$!
sb_wait_log baresip 'Incoming call' 15 || sb_die "baresip never saw the INVITE"
sleep "$RING_S"
sb_check "the call is still up after ${RING_S} s of ringing" \
	grep -Eq '"calls": *1[,}]' <<<"$(sb_health)"
sb_check "...and the gateway has not ended it" \
	sh -c "! grep -q 'call ended' '$SB_WORK/sipbridge.log'"
ip netns exec "$SB_NS" node -e '
	const s = require("dgram").createSocket("udp4");
	s.send("a", +process.argv[2], process.argv[1], () => s.close());' "$SB_SIP_IP" "$BS_CONS"
wait $browser
echo "  browser result: $(head -c 300 "$SB_WORK/call.json" 2>/dev/null)"
sb_expect_eq "call confirmed once the phone answers" confirmed "$(sb_json "$SB_WORK/call.json" r.state)"
sb_expect_eq "the browser saw 180 Ringing" true \
	"$(sb_json "$SB_WORK/call.json" 'r.events.some(e => / progress 180/.test(e))')"
sb_expect_ge "it was answered after the ring (ms)" $((RING_S * 1000)) \
	"$(sb_json "$SB_WORK/call.json" r.answeredAfterMs)"
hz=$(sb_json "$SB_WORK/call.json" 'Math.round(r.tone.peakHz)')
sb_expect_near "browser hears baresip's 400 Hz" 400 "$hz" 12
sb_expect_eq "browser's DTLS connected" connected "$(sb_json "$SB_WORK/call.json" 'r.stats.transport.dtlsState')"
sleep 1
sb_stop baresip 5 TERM
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
sb_expect_tone "baresip hears the browser's 1 kHz" "$rec" 1000 -20
sb_expect_idle 10
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
