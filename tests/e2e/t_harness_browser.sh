#!/bin/bash
# Harness self-check for the browser side (no gateway involved): headless
# Chromium, the test page's JsSIP and SIP.js wrappers, tone measurement,
# getStats, DTMF, hold and hang-up, over a test-double SIP-over-WebSocket
# relay (tests/e2e/lib/fake_sip_ws.js), all inside this test's namespace.
# A failure here means the harness (or Chromium/npm packages) is broken.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sox
sb_require_node_modules
sb_init
sb_bundle

sb_free_port WSP
sb_bg fakews node "$SB_ROOT/tests/e2e/lib/fake_sip_ws.js" "$WSP" secret
sb_wait_port tcp "$WSP" 5 || sb_die "fake WS server did not listen"
sb_tone "$SB_WORK/mic.wav" 1000 48000 60

cat >"$SB_WORK/scenario.js" <<'JS'
async (a) => {
  const R = {};
  // a WebSocket without the "sip" subprotocol must be refused by an RFC 7118 server
  R.probeNoProto = await sb.wsProbe(a.ws, []);
  R.probeSip = await sb.wsProbe(a.ws, ['sip']);
  const alice = await sb.ua({ lib: 'jssip', name: 'alice', ws: a.ws, uri: 'sip:alice@harness.test', password: 'secret' });
  const bob = await sb.ua({ lib: 'sipjs', name: 'bob', ws: a.ws, uri: 'sip:bob@harness.test', password: 'secret', autoAnswer: true });
  const mallory = await sb.ua({ lib: 'sipjs', name: 'mallory', ws: a.ws, uri: 'sip:mallory@harness.test', password: 'wrong' });
  R.connected = [alice.connected, bob.connected, mallory.connected];
  R.regAlice = await alice.register();
  R.regBob = await bob.register();
  R.regMallory = await mallory.register();
  R.regJssipWrong = await (await sb.ua({ lib: 'jssip', name: 'eve', ws: a.ws, uri: 'sip:eve@harness.test', password: 'nope' })).register();
  // JsSIP calls SIP.js (auto-answer)
  const c = await alice.call('sip:bob@harness.test');
  R.callState = c.state;
  const cb = await bob.incoming(5000);
  await sb.sleep(1000);
  R.toneAtAlice = await c.tone(1500);
  R.toneAtBob = cb ? await cb.tone(1500) : null;
  R.statsAlice = await c.stats();
  R.dtmfInfo = await c.dtmf('12#', { method: 'info' });
  R.dtmfRtp = await c.dtmf('5', { method: 'rfc4733' });
  R.hold = await c.hold();
  await sb.sleep(300);
  R.unhold = await c.unhold();
  await sb.sleep(800);   // let the previous re-INVITE transaction finish (SIP.js refuses overlap)
  R.bobHold = cb ? await cb.hold() : null;
  await sb.sleep(300);
  R.bobUnhold = cb ? await cb.unhold() : null;
  R.hangup = await c.hangup();
  R.bobEnd = cb ? await cb.waitEnded(5000) : null;
  // SIP.js calls a user that is not there: 404 must reach the caller
  const c2 = await bob.call('sip:nobody@harness.test');
  R.call404 = c2.summary();
  // SIP.js calls JsSIP, JsSIP answers by hand, the SIP.js side hangs up
  const c3 = await bob.call('sip:alice@harness.test', { wait: null });
  const ca = await alice.incoming(5000);
  R.incomingAtAlice = ca ? ca.state : null;
  if (ca) await ca.answer();
  R.c3State = await c3.waitState('confirmed', 10000);
  R.c3Tone = await c3.tone(1200);
  R.c3Hangup = await c3.hangup();
  R.c3AliceEnd = ca ? await ca.waitEnded(5000) : null;
  await alice.stop(); await bob.stop(); await mallory.stop();
  return R;
}
JS
sb_browser br 90 --timeout 75 --wav "$SB_WORK/mic.wav" --arg "{\"ws\":\"ws://127.0.0.1:$WSP\"}" "@$SB_WORK/scenario.js"
rc=$?
J=$SB_WORK/br.json
sb_expect_eq "browser.js exit status" 0 "$rc"
[ -s "$J" ] || { tail -n 30 "$SB_WORK/br.log"; sb_die "no result JSON"; }
sb_expect_json "WS without subprotocol refused" "$J" 'r.probeNoProto.open === false'
sb_expect_json "WS with subprotocol sip opened" "$J" 'r.probeSip.open === true && r.probeSip.protocol === "sip"'
sb_expect_json "three UAs connected" "$J" 'r.connected.every(x => x)'
sb_expect_json "JsSIP REGISTER with digest -> 200" "$J" 'r.regAlice.ok && r.regAlice.status === 200'
sb_expect_json "SIP.js REGISTER with digest -> 200" "$J" 'r.regBob.ok && r.regBob.status === 200'
sb_expect_json "SIP.js wrong password -> 403" "$J" '!r.regMallory.ok && r.regMallory.status === 403'
sb_expect_json "JsSIP wrong password -> 403" "$J" '!r.regJssipWrong.ok && r.regJssipWrong.status === 403'
sb_expect_json "JsSIP -> SIP.js call confirmed" "$J" 'r.callState === "confirmed"'
sb_expect_json "caller hears 1 kHz" "$J" 'Math.abs(r.toneAtAlice.peakHz - 1000) < 20 && r.toneAtAlice.rms > 0.05'
sb_expect_json "callee hears 1 kHz" "$J" 'r.toneAtBob && Math.abs(r.toneAtBob.peakHz - 1000) < 20 && r.toneAtBob.rms > 0.05'
sb_expect_json "getStats: packets, DTLS connected, pair on 127.0.0.1" "$J" 'r.statsAlice.inbound.packetsReceived > 50 && r.statsAlice.transport.dtlsState === "connected" && /127\.0\.0\.1/.test(r.statsAlice.selectedPair)'
sb_expect_json "getStats: audioLevel > 0 (unmuted element)" "$J" 'r.statsAlice.inbound.audioLevel > 0.05'
sb_expect_json "SIP INFO DTMF 1,2,# received by SIP.js" "$J" 'r.bobEnd && r.bobEnd.dtmfReceived.join("") === "12#"'
sb_expect_json "RFC 4733 DTMF sent" "$J" 'r.dtmfRtp.sent === "5" && !r.dtmfRtp.error'
sb_expect_json "JsSIP hold/unhold re-INVITE answered" "$J" 'r.hold.ok && r.unhold.ok'
sb_expect_json "SIP.js hold/unhold re-INVITE answered" "$J" 'r.bobHold && r.bobHold.ok && r.bobUnhold.ok'
sb_expect_json "caller hang-up: ended locally" "$J" 'r.hangup.state === "ended" && r.hangup.originator === "local"'
sb_expect_json "callee sees BYE from remote" "$J" 'r.bobEnd.state === "ended" && r.bobEnd.originator === "remote"'
sb_expect_json "call to unknown user fails with 404" "$J" 'r.call404.state === "failed" && r.call404.status === 404'
sb_expect_json "SIP.js -> JsSIP call, manual answer" "$J" '["incoming", "progress"].includes(r.incomingAtAlice) && r.c3State === "confirmed"'
sb_expect_json "SIP.js caller hears 1 kHz" "$J" 'Math.abs(r.c3Tone.peakHz - 1000) < 20'
sb_expect_json "SIP.js hang-up ends JsSIP side (remote BYE)" "$J" 'r.c3Hangup.state === "ended" && r.c3AliceEnd.state === "ended" && r.c3AliceEnd.originator === "remote"'
sb_check "page logged events on the console" grep -q 'SBEVENT .*"ev":"confirmed"' "$SB_WORK/br.log"
sb_finish
