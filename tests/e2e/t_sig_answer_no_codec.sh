#!/bin/bash
# A phone answers with a codec the gateway never offered (G.729 only):
# the browser cannot be given that answer, so it gets 488 "Not Acceptable
# Here" instead, and the gateway ends the phone's side itself.
#   1. In a 200: the gateway's ACK for it, then a BYE with a Reason (RFC
#      3261 §13.2.2.4). Before, the phone got no ACK, retransmitted its
#      200, and kept the call until the browser's WebSocket closed.
#   2. In a 183: a CANCEL. Before, the phone rang on (until Timer C,
#      3 minutes) for a call the browser had already seen fail.
# Checks: JsSIP's call fails with 488 while the browser stays connected,
# sipp (uas_answer.xml, then sig_uas_early_g729.xml) gets ACK and BYE, or
# CANCEL, and completes (exit 0), nothing is left.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sipp
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_free_port UAS_PORT; sb_free_sipp_media UAS_MEDIA
sb_tone "$SB_WORK/mic.wav" 400 48000 60
SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$UAS_PORT"
sb_daemon_start
sb_sipp uas -sf "$SB_SIPP_DIR/uas_answer.xml" -p "$UAS_PORT" -mi "$SB_SIP_IP" -mp "$UAS_MEDIA" \
	-m 1 -set pt 18 -set codec G729
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp UAS did not listen"
cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call('sip:bob@sipbridge.test', { timeoutMs: 10000 });
  const r = { state: call.state, status: call.status, reason: call.reason };
  // stay connected: the phone's call must end without the browser leaving
  await sb.sleep(4000);
  r.connectedAfter = ua.connected;
  return r;
}
JS
sb_browser call 60 --wav "$SB_WORK/mic.wav" --arg "{\"ws\":\"$SB_WS_URL\"}" @"$SB_WORK/call.js"
echo "  browser result: $(cat "$SB_WORK/call.json" 2>/dev/null | tr -d '\n ')"
sb_expect_eq "the browser's call failed" failed "$(sb_json "$SB_WORK/call.json" r.state)"
sb_expect_eq "...with 488" 488 "$(sb_json "$SB_WORK/call.json" r.status)"
sb_expect_eq "the browser stayed connected" true "$(sb_json "$SB_WORK/call.json" r.connectedAfter)"
sb_wait uas 10
sb_expect_eq "sipp got ACK and BYE for its 200 and answered the BYE (exit 0)" 0 "$?"
msgs=$SB_WORK/uas.msg
sb_expect_eq "200s the phone sent: one for the INVITE (not retransmitted), one for the BYE" 2 "$(sb_msg_count "$msgs" '^SIP/2.0 200 OK')"
sb_check "the BYE says why" grep -q '^Reason: SIP;cause=488' "$msgs"
sb_check "the ACK came before the BYE while the WebSocket was open" \
	sh -c "! grep -q 'ws 1 closed' '$SB_WORK/sipbridge.log' || [ \$(grep -n 'ACK and BYE toward SIP' '$SB_WORK/sipbridge.log' | cut -d: -f1) -lt \$(grep -n 'ws 1 closed' '$SB_WORK/sipbridge.log' | cut -d: -f1) ]"
sb_expect_idle 10

echo "2. a 183 with G.729 only"
sb_sipp uas2 -sf "$SB_SIPP_DIR/sig_uas_early_g729.xml" -p "$UAS_PORT" -mi "$SB_SIP_IP" -mp "$UAS_MEDIA" -m 1
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp UAS did not listen"
sb_browser call2 60 --wav "$SB_WORK/mic.wav" --arg "{\"ws\":\"$SB_WS_URL\"}" @"$SB_WORK/call.js"
echo "  browser result: $(cat "$SB_WORK/call2.json" 2>/dev/null | tr -d '\n ')"
sb_expect_eq "the browser's call failed with 488" 488 "$(sb_json "$SB_WORK/call2.json" r.status)"
sb_wait uas2 10
sb_expect_eq "sipp got the CANCEL, answered 487, got its ACK (exit 0)" 0 "$?"
sb_check "the CANCEL says why" grep -q '^Reason: SIP;cause=488' "$SB_WORK/uas2.msg"
sb_expect_idle 10
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
