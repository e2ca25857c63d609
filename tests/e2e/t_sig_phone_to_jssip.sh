#!/bin/bash
# SIP phones call a registered browser through its Contact alias (no Route:
# the alias alone must find the WebSocket), with media, and hang up both
# ways. JsSIP registers (sipp registrar, which stores the alias and Path)
# and auto-answers three calls:
#   1. sipp with a LATE OFFER (INVITE without SDP): the gateway offers to
#      the browser in the INVITE, the browser answers in its 200, the
#      gateway offers plain RTP to sipp in the 200 and gets sipp's answer
#      in the ACK (the ACK reaches the browser without SDP); sipp streams
#      1 kHz, the page hears it; sipp hangs up, the page sees the remote BYE.
#   2. sipp, then re-INVITEs from the SIP side: hold (sendonly -> answer
#      recvonly/inactive), resume (sendrecv); sipp hangs up.
#   3. baresip dials the alias (400 Hz; the browser plays 1 kHz): audio both
#      ways; the browser hangs up, baresip's call ends.
#   4. sipp, then a re-INVITE from the SIP side WITHOUT SDP: the browser's
#      offer reaches sipp in the 200 as plain RTP, sipp's answer in the ACK
#      reaches the browser, and the page still hears 1 kHz after it.
# (Path + alias with sipp: t_call_sipp_to_jssip.sh; every method: t_sig_methods.sh.)
# SIG_DEBUG=true turns on JsSIP's RTCSession debug log in callee.log.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sipp sox baresip
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_free_port REG_PORT; sb_free_port UAC_PORT; sb_free_sipp_media UAC_MEDIA; sb_free_port BS_PORT
sb_free_range BS_RTP BS_RTP_HI 20
sb_tone "$SB_WORK/tone.ul" 1000 8000 20 ulaw
sb_tone "$SB_WORK/mic.wav" 1000 48000 90
sb_tone "$SB_WORK/tone400_8k.wav" 400 8000 60
sb_baresip_conf "$SB_WORK/bs" "$BS_PORT" "$BS_RTP" "$SB_WORK/tone400_8k.wav" PCMU phone
SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$REG_PORT"
sb_daemon_start
sb_sipp reg -sf "$SB_SIPP_DIR/sig_registrar.xml" -p "$REG_PORT" -m 1
sb_wait_port udp "$REG_PORT" 5 || sb_die "registrar did not listen"

cat >"$SB_WORK/callee.js" <<'JS'
async (a) => {
  const R = { calls: [] };
  if (a.debug && window.JsSIP) JsSIP.debug.enable('JsSIP:RTCSession*');
  const ua = await sb.ua({ lib: 'jssip', name: 'alice', ws: a.ws, uri: 'sip:alice@sipbridge.test', autoAnswer: true });
  if (!ua.connected) return { error: 'ws not connected' };
  R.register = await ua.register(15000);
  if (!R.register.ok) return R;
  for (let i = 0; i < 4; i++) {
    const c = await ua.incoming(40000);
    if (!c) { R.calls.push({ incoming: false }); break; }
    const x = { incoming: true };
    x.state = await c.waitState('confirmed', 15000);
    await sb.sleep(800);
    x.tone = await c.tone(1500);
    if (i === 1 || i === 3) { await sb.sleep(3000); x.toneLate = await c.tone(1000); }
    if (i === 2) { await sb.sleep(500); x.stats = await c.stats(); x.end = await c.hangup(); }
    else x.end = await c.waitEnded(20000);
    x.lateSdp = i === 0 ? !!(c.remoteSdp) : undefined;
    x.summary = c.summary();
    R.calls.push(x);
    console.log('SBCALLDONE ' + i);
  }
  return R;
}
JS
sb_browser_bg callee --timeout 100 --wav "$SB_WORK/mic.wav" --arg "{\"ws\":\"$SB_WS_URL\",\"debug\":${SIG_DEBUG:-false}}" "@$SB_WORK/callee.js"
sb_wait_log callee '"ev":"registered"' 40 || { sb_fail "browser registered"; sb_wait callee 5; sb_finish; }
sb_pass "browser registered through the gateway"
sb_wait reg 5
sb_sig_binding "$SB_WORK/reg.msg"
echo "  alias: $SIG_CONTACT"
sb_check "registrar stored an alias on the gateway" grep -q "sbf=" <<<"$SIG_CONTACT"
# the phones reach the gateway at SB_SIP_IPH: so must the alias and Path
# (with listeners of both families, the phone's family's)
sb_check "alias and Path name $SB_SIP_IPH ($SIG_CONTACT; $SIG_PATH)" \
	sh -c 'case "$1|$2" in *"@$3:"*"|<sip:$3:"*) exit 0 ;; esac; exit 1' _ "$SIG_CONTACT" "$SIG_PATH" "$SB_SIP_IPH"

# 1. late offer
sb_bg late sipp -sf "$SB_SIPP_DIR/sig_uac_late.xml" -i "$SB_SIP_IP" -p "$UAC_PORT" -mi "$SB_SIP_IP" -mp "$UAC_MEDIA" \
	-m 1 -nostdin -set ruri "$SIG_CONTACT" -d 5000 -timeout 35 \
	-trace_msg -message_file "$SB_WORK/late.msg" "$SB_SIP_IPH:$SB_SIP_PORT"
for ((i = 0; i < 150; i++)); do grep -q '^ACK' "$SB_WORK/late.msg" 2>/dev/null && break; sleep 0.1; done
sleep 3
# sipp does not read its media socket: what the gateway sends there queues up
sb_nsx cat /proc/net/udp /proc/net/udp6 >"$SB_WORK/late_udp.txt"
queued=$(awk -v p="$(printf ':%04X' "$UAC_MEDIA")" '$2 ~ p"$" { split($5, q, ":"); print q[2] "/" $13 }' "$SB_WORK/late_udp.txt")
sb_check "late offer: the gateway sends the browser's audio to the phone's media port (rx queue/drops: $queued)" \
	sh -c 'case "$1" in ""|00000000/0) exit 1 ;; esac' _ "$queued"
sb_wait late 30
sb_expect_eq "late offer: 200 with an offer, ACK with the answer, BYE answered (sipp exit)" 0 $?
sb_check "late offer: the gateway's offer in the 200 is plain RTP" sh -c "tr -d '\r' <'$SB_WORK/late.msg' | awk '/^SIP\/2.0 200/{f=1} f && /^m=audio [0-9]+ RTP\/AVP /{ok=1; exit} END{exit !ok}'"
rr=$(tr -d '\r' <"$SB_WORK/late.msg" | awk '/^SIP\/2.0 200/{f=1} f && /^Record-Route:/{print} f && /^$/{exit}' | tr '\n' ' ')
sb_check "late offer: the 200's Record-Route entry facing SIP names $SB_SIP_IPH ($rr)" \
	grep -qF "<sip:$SB_SIP_IPH:$SB_SIP_PORT;transport=udp;" <<<"$rr"
sb_wait_log callee 'SBCALLDONE 0' 20

# 2. re-INVITEs from SIP
sb_run 40 reinv sipp -sf "$SB_SIPP_DIR/sig_uac_reinvite.xml" -i "$SB_SIP_IP" -p "$UAC_PORT" -mi "$SB_SIP_IP" -mp "$UAC_MEDIA" \
	-m 1 -nostdin -set ruri "$SIG_CONTACT" -d 2500 -timeout 35 \
	-trace_msg -message_file "$SB_WORK/reinv.msg" "$SB_SIP_IPH:$SB_SIP_PORT"
sb_expect_eq "SIP re-INVITE hold (answer recvonly/inactive) and resume (sendrecv) (sipp exit)" 0 $?
sb_wait_log callee 'SBCALLDONE 1' 20

# 3. baresip dials the alias; the browser hangs up
sb_bg baresip baresip -f "$SB_WORK/bs" -e "/dial $SIG_CONTACT" -t 30
sb_wait_log callee 'SBCALLDONE 2' 40
sb_stop baresip 5

# 4. a re-INVITE without SDP from SIP
sb_run 40 nosdp sipp -sf "$SB_SIPP_DIR/sig_uac_reinvite_nosdp.xml" -i "$SB_SIP_IP" -p "$UAC_PORT" -mi "$SB_SIP_IP" -mp "$UAC_MEDIA" \
	-m 1 -nostdin -set ruri "$SIG_CONTACT" -d 4000 -timeout 35 \
	-trace_msg -message_file "$SB_WORK/nosdp.msg" "$SB_SIP_IPH:$SB_SIP_PORT"
sb_expect_eq "SDP-less re-INVITE: the 200 offers PCMU sendrecv, ACK answers, BYE answered (sipp exit)" 0 $?
sb_check "SDP-less re-INVITE: the 200's offer is plain RTP" sh -c "tr -d '\r' <'$SB_WORK/nosdp.msg' | awk '/^SIP\/2.0 200/ && ++n == 2 {f=1} f && /^m=audio [0-9]+ RTP\/AVP /{ok=1; exit} END{exit !ok}'"
sb_wait_log callee 'SBCALLDONE 3' 20
sb_wait callee 20
J=$SB_WORK/callee.json
echo "  calls: $(sb_json "$J" 'r.calls.map(c => ({ state: c.state, tone: c.tone, end: c.end && c.end.originator }))')"
sb_expect_json "late offer: browser answered, call confirmed" "$J" 'r.calls[0] && r.calls[0].state === "confirmed"'
sb_expect_json "late offer: the page hears sipp's 1 kHz" "$J" 'r.calls[0] && r.calls[0].tone && Math.abs(r.calls[0].tone.peakHz - 1000) < 25 && r.calls[0].tone.peakDb > -60'
sb_expect_json "late offer: sipp's BYE ended the call in the page" "$J" 'r.calls[0].end && r.calls[0].end.originator === "remote"'
sb_expect_json "re-INVITE call: confirmed, 1 kHz heard" "$J" 'r.calls[1] && r.calls[1].state === "confirmed" && Math.abs(r.calls[1].tone.peakHz - 1000) < 25'
sb_expect_json "re-INVITE call: the page saw the remote hold and resume" "$J" 'r.calls[1] && /hold by remote/.test(r.calls[1].summary.events.join()) && /unhold by remote/.test(r.calls[1].summary.events.join())'
sb_expect_json "re-INVITE call: ended by sipp's BYE" "$J" 'r.calls[1].end && r.calls[1].end.originator === "remote"'
sb_expect_json "baresip call: confirmed, the page hears 400 Hz" "$J" 'r.calls[2] && r.calls[2].state === "confirmed" && Math.abs(r.calls[2].tone.peakHz - 400) < 15'
sb_expect_json "baresip call: the browser hung up" "$J" 'r.calls[2].end && r.calls[2].end.state === "ended"'
sb_expect_json "SDP-less re-INVITE call: 1 kHz heard before and after it" "$J" 'r.calls[3] && r.calls[3].state === "confirmed" && Math.abs(r.calls[3].tone.peakHz - 1000) < 25 && Math.abs(r.calls[3].toneLate.peakHz - 1000) < 25'
sb_expect_json "SDP-less re-INVITE call: ended by sipp's BYE" "$J" 'r.calls[3].end && r.calls[3].end.originator === "remote"'
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
sb_expect_tone "baresip hears the browser's 1 kHz" "$rec" 1000 -20
sb_check "baresip saw the call closed by the browser's BYE" grep -Eiq "terminated|closed|BYE" "$SB_WORK/baresip.log"
sb_expect_idle 10
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
