#!/bin/bash
# Two-way audio through the gateway: SIP.js in headless Chromium (mic = 1 kHz)
# calls a baresip callee (auto-answer, PCMU only, plays 400 Hz, records what
# it receives). EXPECTED TO FAIL until media anchoring works (ICE + DTLS-SRTP
# toward the browser, plain RTP toward SIP, Opus<->PCMU or PCMU relay).
# Checks: call confirmed; the browser's DTLS/ICE leg is connected on
# 127.0.0.1 and receives packets; the browser hears 400 Hz; baresip's
# recording of the browser's audio is 1 kHz; hang-up from the browser.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node baresip sox
sb_require_node_modules
sb_require_daemon
sb_init
echo "NOTE: expected to fail until media anchoring (ICE/DTLS-SRTP <-> RTP) works"
sb_bundle

sb_free_port BS_PORT
sb_free_range BS_RTP BS_RTP_HI 20
SB_OUTBOUND_PROXY="sip:127.0.0.1:$BS_PORT"
sb_daemon_start
sb_tone "$SB_WORK/mic.wav" 1000 48000 60
sb_tone "$SB_WORK/tone400_8k.wav" 400 8000 60
sb_baresip_conf "$SB_WORK/callee" "$BS_PORT" "$BS_RTP" "$SB_WORK/tone400_8k.wav" PCMU callee
sb_bg callee baresip -f "$SB_WORK/callee" -t 90
sb_wait_port udp "$BS_PORT" 5 || sb_die "baresip did not listen"

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const R = {};
  const ua = await sb.ua({ lib: 'sipjs', name: 'carol', ws: a.ws, uri: 'sip:carol@sipbridge.test' });
  R.connected = ua.connected;
  if (!ua.connected) return R;
  const c = await ua.call(a.target, { timeoutMs: 15000 });
  R.state = c.state;
  if (c.state === 'confirmed') {
    await sb.sleep(1500);
    R.tone = await c.tone(2000);
    R.stats = await c.stats();
    await sb.sleep(1000);
    R.end = await c.hangup();
  }
  R.summary = c.summary();
  await ua.stop();
  return R;
}
JS
sb_browser call 90 --timeout 60 --wav "$SB_WORK/mic.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"target\":\"sip:callee@127.0.0.1:$BS_PORT\"}" "@$SB_WORK/call.js"
sb_expect_eq "browser driver exit status" 0 $?
J=$SB_WORK/call.json
sb_expect_json "call confirmed" "$J" 'r.state === "confirmed"'
sb_expect_json "ICE+DTLS connected toward the gateway on 127.0.0.1" "$J" \
	'r.stats && r.stats.transport && r.stats.transport.dtlsState === "connected" && /127\.0\.0\.1/.test(r.stats.selectedPair || "")'
sb_expect_json "browser receives RTP (> 50 packets)" "$J" 'r.stats.inbound && r.stats.inbound.packetsReceived > 50'
sb_expect_json "browser hears baresip's 400 Hz" "$J" 'r.tone && Math.abs(r.tone.peakHz - 400) < 15 && r.tone.rms > 0.02'
sb_expect_json "browser hang-up ends the call" "$J" 'r.end && r.end.state === "ended"'
echo "  info: tone $(sb_json "$J" 'r.tone' 2>/dev/null), inbound $(sb_json "$J" 'r.stats.inbound' 2>/dev/null)"
sleep 1
sb_stop callee 5 INT
sb_check "baresip answered" grep -q 'answering call' "$SB_WORK/callee.log"
sb_expect_tone "baresip heard the browser's 1 kHz" "$(sb_baresip_rec "$SB_WORK/callee")" 1000 -30
sb_check "daemon still running" sb_alive sipbridge
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
