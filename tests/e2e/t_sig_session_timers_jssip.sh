#!/bin/bash
# JsSIP with its default session timers (RFC 4028; the other tests turn
# them off): every call asks for Session-Expires 90 and JsSIP refreshes
# the session every 45 s with an UPDATE. Two 55-second calls at once, from
# two JsSIP UAs on one page, through two daemons (one outbound proxy each):
#   a. to baresip, which answers without Session-Expires (JsSIP then
#      refreshes on its own) and refuses the UPDATE with 501: the 501
#      reaches the browser, the call lives on, and the audio still flows
#      both ways at the end (each side hears the other's tone);
#   b. to a sipp UAS that requires timers (Session-Expires: 90;
#      refresher=uac): JsSIP's UPDATE reaches it inside the dialog, its
#      200 comes back to the browser, and the BYE ends the call (sipp's
#      scenario completes only in that order).
# Then nothing is left in either daemon.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node baresip sipp sox
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_baresip_callee PCMU 90
sb_daemon_start gwa
WS_A=$SB_WS_URL; HTTP_A=$SB_HTTP_URL
sb_daemon_new_ports
sb_free_port UAS_PORT; sb_free_sipp_media UAS_MEDIA
SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$UAS_PORT"
sb_daemon_start gwb
WS_B=$SB_WS_URL; HTTP_B=$SB_HTTP_URL
sb_bg baresip baresip -s -f "$SB_WORK/bs" -t 100
sb_sipp uas -sf "$SB_SIPP_DIR/uas_timer.xml" -p "$UAS_PORT" -mi "$SB_SIP_IP" -mp "$UAS_MEDIA" \
	-m 1 -set pt 0 -set codec PCMU
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp UAS did not start"
sleep 1

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const one = async (name, ws, target) => {
    const ua = await sb.ua({ lib: 'jssip', name, ws, uri: `sip:${name}@sipbridge.test`,
      sessionTimers: true, traceSip: true });
    if (!ua.connected) return { error: 'ws not connected' };
    const call = await ua.call(target);
    const r = { state: call.state };
    if (call.state !== 'confirmed') return r;
    await sb.sleep(52000);
    r.stateAfter = call.state;
    r.tone = await call.tone(2000);
    r.hangup = await call.hangup();
    r.updates = sb.events.filter(e => e.who === name && e.ev === 'sip-in' && /UPDATE$/.test(e.cseq || ''))
      .map(e => e.line);
    return r;
  };
  const [bs, uas] = await Promise.all([one('alice', a.wsA, a.targetA), one('bob', a.wsB, a.targetB)]);
  return { bs, uas };
}
JS
sb_browser call 100 --timeout 95 --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"wsA\":\"$WS_A\",\"targetA\":\"sip:callee@$SB_SIP_IPH:$BS_PORT\",\"wsB\":\"$WS_B\",\"targetB\":\"sip:uas@$SB_SIP_IPH:$UAS_PORT\"}" \
	@"$SB_WORK/call.js"
J=$SB_WORK/call.json
echo "  baresip call: $(sb_json "$J" 'JSON.stringify({ state: r.bs.state, after: r.bs.stateAfter, updates: r.bs.updates, hz: r.bs.tone && r.bs.tone.peakHz })')"
echo "  sipp call: $(sb_json "$J" 'JSON.stringify({ state: r.uas.state, after: r.uas.stateAfter, updates: r.uas.updates })')"

echo "a. baresip (no timers, UPDATE refused)"
sb_expect_json "call confirmed" "$J" 'r.bs.state === "confirmed"'
sb_check "the INVITE asked for session timers" grep -q '^Session-Expires: 90' "$SB_WORK/baresip.log"
sb_check "JsSIP's refresh (UPDATE) reached baresip" grep -q '^UPDATE sip:' "$SB_WORK/baresip.log"
sb_expect_json "baresip's 501 to it reached the browser" "$J" 'r.bs.updates.some(l => /^SIP\/2.0 501/.test(l))'
sb_expect_json "the call outlived the refresh" "$J" 'r.bs.stateAfter === "confirmed"'
sb_expect_near "the browser still hears baresip's 400 Hz at 54 s" 400 "$(sb_json "$J" 'Math.round(r.bs.tone.peakHz)')" 12
sb_expect_json "hung up" "$J" 'r.bs.hangup && r.bs.hangup.state === "ended"'
sleep 1
sb_stop baresip 5 TERM
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
sb_expect_tone "baresip heard the browser's 1 kHz" "$rec" 1000 -20

echo "b. sipp (timers required, refresher=uac)"
sb_expect_json "call confirmed" "$J" 'r.uas.state === "confirmed"'
sb_expect_json "sipp's 200 to the UPDATE reached the browser" "$J" 'r.uas.updates.some(l => /^SIP\/2.0 200/.test(l))'
sb_expect_json "the call outlived the refresh" "$J" 'r.uas.stateAfter === "confirmed"'
sb_wait uas 10
sb_expect_eq "sipp UAS: INVITE, UPDATE, BYE in that order (exit 0)" 0 "$?"

SB_HTTP_URL=$HTTP_A sb_expect_idle 10
SB_HTTP_URL=$HTTP_B sb_expect_idle 10
sb_stop gwa 5 TERM
sb_expect_eq "daemon a exit status" 0 "$?"
sb_stop gwb 5 TERM
sb_expect_eq "daemon b exit status" 0 "$?"
sb_check_sanitizers "$SB_WORK/gwa.log"
sb_check_sanitizers "$SB_WORK/gwb.log"
sb_finish
