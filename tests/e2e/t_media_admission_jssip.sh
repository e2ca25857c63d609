#!/bin/bash
# Transcoding admission (media.max_transcoded): with one worker allowed
# one transcoded call, Chromium + JsSIP offering Opus only calls baresip
# (PCMU only) and is transcoded; a second Opus-only call from the same
# page gets 503 with Retry-After, and baresip never sees it; after the
# first call hangs up, a third Opus-only call is answered again (the
# capacity came back). An ordinary PCMU call in between still goes
# through (it is relayed, no transcoder needed).
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node baresip sox
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_baresip_callee PCMU 60
SB_MEDIA_EXTRA="workers = 1; max_transcoded = 1;"
sb_daemon_start
sb_bg baresip baresip -f "$SB_WORK/bs" -t 55
sb_wait_port udp "$BS_PORT" 10 || sb_die "baresip did not listen"

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  // Opus-only offers, except for the page's PCMU call
  const opusOnly = /^(opus|telephone-event)\//i;
  sb.restrictOffers(opusOnly);
  const mline = (sdp) => ((sdp || '').split('\r\n').find(l => l.startsWith('m=audio')) || '');
  const ua1 = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  const ua2 = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:bob@sipbridge.test', register: false });
  if (!ua1.connected || !ua2.connected) return { error: 'ws not connected' };
  const r = {};
  const c1 = await ua1.call(a.target, { timeoutMs: 20000 });
  r.first = { state: c1.state, remoteM: mline(c1.remoteSdp) };
  if (c1.state !== 'confirmed') { r.first.summary = c1.summary(); return r; }
  await sb.sleep(1000);
  r.first.tone = await c1.tone(1500);
  const c2 = await ua2.call(a.target, { timeoutMs: 20000 });
  r.second = c2.summary();
  sb.restrictOffers(null);
  const c3 = await ua2.call(a.target, { timeoutMs: 20000 });
  r.pcmu = { state: c3.state, remoteM: mline(c3.remoteSdp) };
  if (c3.state === 'confirmed') r.pcmu.hangup = await c3.hangup();
  sb.restrictOffers(opusOnly);
  r.first.hangup = await c1.hangup();
  await sb.sleep(1000);
  const c4 = await ua2.call(a.target, { timeoutMs: 20000 });
  r.third = { state: c4.state, remoteM: mline(c4.remoteSdp) };
  if (c4.state === 'confirmed') {
    await sb.sleep(1000);
    r.third.tone = await c4.tone(1500);
    r.third.hangup = await c4.hangup();
  } else {
    r.third.summary = c4.summary();
  }
  await ua1.stop(); await ua2.stop();
  return r;
}
JS
sb_browser call 90 --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"target\":\"sip:callee@127.0.0.1:$BS_PORT\"}" @"$SB_WORK/call.js"
J=$SB_WORK/call.json
echo "  second: $(sb_json "$J" r.second)"
sb_expect_json "first Opus-only call answered" "$J" 'r.first && r.first.state === "confirmed"'
sb_expect_json "first call: the page hears baresip's 400 Hz" "$J" 'r.first.tone && Math.abs(r.first.tone.peakHz - 400) < 15 && r.first.tone.peakDb > -60'
sb_expect_json "second Opus-only call while the worker is full: 503" "$J" 'r.second && r.second.status === 503'
sb_expect_json "with Retry-After" "$J" 'r.second && /^\d+/.test(String(r.second.retryAfter || ""))'
sb_expect_json "a PCMU call meanwhile is relayed and answered" "$J" 'r.pcmu && r.pcmu.state === "confirmed" && / 0( |$)/.test(r.pcmu.remoteM)'
sb_expect_json "after the first hangs up, an Opus-only call is answered again" "$J" 'r.third && r.third.state === "confirmed"'
sb_expect_json "and transcoded: the page hears 400 Hz" "$J" 'r.third.tone && Math.abs(r.third.tone.peakHz - 400) < 15 && r.third.tone.peakDb > -60'
# baresip saw three INVITEs (first, PCMU, third), never the refused one
n=$(grep -c "answering call on line" "$SB_WORK/baresip.log")
sb_expect_eq "baresip saw the three admitted calls only" 3 "$n"
n=$(grep -c "media end (transcoded)" "$SB_WORK/sipbridge.log")
sb_expect_eq "the two Opus-only calls admitted were transcoded" 2 "$n"
sb_expect_idle 10
sb_stop baresip 5
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
