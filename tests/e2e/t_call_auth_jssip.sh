#!/bin/bash
# A PBX that challenges calls, as most do: JsSIP (with a password) calls a
# sipp UAS through the gateway; the first INVITE gets 401 with a digest
# challenge, JsSIP sends it again with Authorization (same Call-ID and
# offer, a new CSeq), which the UAS verifies (verifyauth) before it answers
# 200 with PCMU and streams a 1 kHz tone. Checks: the challenge reached the
# browser and the UAS got one ACK for it, the second INVITE was answered, the page hears 1 kHz (media anchored on the second INVITE,
# not left on the first), the challenge and credentials passed through
# untouched, the browser hangs up, and nothing is left.
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
SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$UAS_PORT"
sb_daemon_start
sb_sipp uas -sf "$SB_SIPP_DIR/uas_auth_stream.xml" -p "$UAS_PORT" \
	-mi "$SB_SIP_IP" -mp "$UAS_MEDIA" -m 1 -set user alice -set pass s3cret
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp UAS did not listen"

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', password: 's3cret', register: false,
                           traceSip: true });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call('sip:bob@sipbridge.test');
  const r = { state: call.state, status: call.status };
  if (call.state !== 'confirmed') { r.summary = call.summary(); return r; }
  await sb.sleep(1500);
  r.tone = await call.tone(2000);
  r.stats = await call.stats();
  r.hangup = await call.hangup();
  await sb.sleep(500);
  return r;
}
JS
sb_browser call 60 --wav "$SB_WORK/mic.wav" --arg "{\"ws\":\"$SB_WS_URL\"}" @"$SB_WORK/call.js"
echo "  browser result: $(head -c 300 "$SB_WORK/call.json" 2>/dev/null)"
sb_expect_eq "call confirmed after the challenge" confirmed "$(sb_json "$SB_WORK/call.json" r.state)"
sb_check "the 401 reached the browser" grep -q '"line":"SIP/2.0 401 ' "$SB_WORK/call.log"
hz=$(sb_json "$SB_WORK/call.json" 'Math.round(r.tone.peakHz)')
sb_expect_near "the page hears the UAS's 1 kHz" 1000 "$hz" 25
sb_expect_eq "browser's DTLS connected" connected "$(sb_json "$SB_WORK/call.json" 'r.stats.transport.dtlsState')"
sb_wait uas 15
sb_expect_eq "sipp verified the digest, answered, got ACK and BYE (exit 0)" 0 "$?"
msgs=$SB_WORK/uas.msg
sb_expect_eq "INVITEs that reached the UAS" 2 "$(sb_msg_count "$msgs" '^INVITE ')"
# one for the 401 (the gateway's NTA; the browser's own is absorbed), one
# for the 200
sb_expect_eq "ACKs that reached the UAS" 2 "$(sb_msg_count "$msgs" '^ACK ')"
sb_check "the Authorization reached the UAS" grep -q '^Authorization: Digest .*username="alice"' "$msgs"
sb_expect_idle 10
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
