#!/bin/bash
# Calls that ring a while before they are answered, as calls do, both
# ways. media.rtp_timeout is 8 s, shorter than the ring (SB_RING_S,
# default 15 s): no media is due before the answer, so it must not count.
#   1. Headless Chromium + JsSIP calls baresip through the gateway; baresip
#      rings (180, no SDP) and only then accepts, driven over its UDP
#      console. The browser has no answer, so no ICE credentials of ours,
#      during all that time: the call must still be up when the phone
#      answers (before the fix the gateway's checks toward the browser ran
#      out after about 5 s and the call ended "ICE failed" before anyone
#      answered). Then audio both ways (400 Hz to the page, 1 kHz to
#      baresip) and nothing left.
#   2. The browser registers (sipp registrar, the gateway's outbound proxy
#      after a reload); baresip dials its alias; the page rings as long,
#      then answers: audio both ways, baresip's BYE ends the call.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node baresip sox
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

RING_S=${SB_RING_S:-15}
sb_baresip_callee PCMU $((RING_S + 25))
SB_MEDIA_EXTRA="rtp_timeout = 8;"
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

echo "baresip -> gateway -> registered browser, which rings ${RING_S} s before it answers"
sb_free_port REG_PORT
SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$REG_PORT"
sb_daemon_reload || sb_die "reload with the registrar as outbound proxy failed"
sb_sipp reg -sf "$SB_SIPP_DIR/sig_registrar.xml" -p "$REG_PORT" -m 1
sb_wait_port udp "$REG_PORT" 5 || sb_die "registrar did not listen"
cat >"$SB_WORK/callee.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', name: 'alice', ws: a.ws, uri: 'sip:alice@sipbridge.test' });
  if (!ua.connected) return { error: 'ws not connected' };
  const r = { register: await ua.register(15000) };
  if (!r.register.ok) return r;
  const c = await ua.incoming(30000);
  if (!c) return r;
  const t0 = Date.now();
  await sb.sleep(a.ringMs);
  r.stateBeforeAnswer = c.state;
  await c.answer();
  r.state = await c.waitState('confirmed', 15000);
  r.answeredAfterMs = Date.now() - t0;
  await sb.sleep(1500);
  r.tone = await c.tone(2000);
  r.end = await c.waitEnded(30000);
  return r;
}
JS
sb_browser_bg callee --timeout $((RING_S + 70)) --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"ringMs\":$((RING_S * 1000))}" "@$SB_WORK/callee.js"
sb_wait_log callee '"ev":"registered"' 40 || sb_die "the browser did not register"
sb_wait reg 5
sb_sig_binding "$SB_WORK/reg.msg"
rm -f "$SB_WORK"/bs/rec/*.wav
sb_bg caller baresip -f "$SB_WORK/bs" -e "/dial $SIG_CONTACT" -t $((RING_S + 12))
sb_wait callee $((RING_S + 60))
echo "  browser result: $(head -c 300 "$SB_WORK/callee.json" 2>/dev/null)"
# (JsSIP's state is "progress" once it has sent its 180)
sb_expect_eq "the page was still ringing after ${RING_S} s" true \
	"$(sb_json "$SB_WORK/callee.json" '["incoming", "progress"].includes(r.stateBeforeAnswer)')"
sb_expect_eq "call confirmed once the page answers" confirmed "$(sb_json "$SB_WORK/callee.json" r.state)"
hz=$(sb_json "$SB_WORK/callee.json" 'Math.round(r.tone.peakHz)')
sb_expect_near "the page hears baresip's 400 Hz" 400 "$hz" 12
sb_expect_eq "baresip's BYE ended the call" remote \
	"$(sb_json "$SB_WORK/callee.json" 'r.end.originator')"
sb_wait caller 10
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
sb_expect_tone "baresip hears the browser's 1 kHz" "$rec" 1000 -20
sb_check "no call ended on RTP inactivity" sh -c "! grep -qi 'no RTP' '$SB_WORK/sipbridge.log'"
sb_expect_idle 10
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
