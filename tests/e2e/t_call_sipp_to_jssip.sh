#!/bin/bash
# A SIP phone calls a browser through the gateway (signalling).
# (The registrar's trace keeps the wire's CRs: they are stripped before the
# Contact/Path go to sipp -set, a stray CR would end sipp's header block.)
#   1. JsSIP registers through the gateway to a sipp registrar (401 + 200);
#      the registrar's log gives the Contact and Path it would store.
#   2. A sipp UAC sends INVITE to the gateway's UDP port with that Contact as
#      Request-URI and the Path as Route; the browser (auto-answer) gets it,
#      answers; the call is confirmed; sipp hangs up after 3 s and gets 200;
#      the browser sees the call ended by the remote side.
# SB_UAC_SCENARIO picks another sipp scenario for step 2: with
# uac_call_route_video.xml (t_call_sipp_video_to_jssip.sh) the phone offers
# audio + video: the browser gets no live video stream and the phone's
# answer rejects the video (port 0). SB_LIB=sipjs puts SIP.js in the page
# instead of JsSIP (t_call_sipp_to_sipjs.sh).
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sipp sox
sb_require_node_modules
sb_require_daemon
sb_init
sb_bundle

sb_free_port REG_PORT; sb_free_port UAC_PORT; sb_free_sipp_media UAC_MEDIA
SB_OUTBOUND_PROXY="sip:127.0.0.1:$REG_PORT"
sb_daemon_start
sb_tone "$SB_WORK/mic.wav" 1000 48000 60

sb_sipp reg -sf "$SB_SIPP_DIR/registrar_401.xml" -p "$REG_PORT" -m 1 -set user alice -set pass secret
sb_wait_port udp "$REG_PORT" 5 || sb_die "registrar did not listen"

cat >"$SB_WORK/callee.js" <<'JS'
async (a) => {
  const R = {};
  const ua = await sb.ua({ lib: a.lib, name: 'alice', ws: a.ws, uri: 'sip:alice@sipbridge.test', password: 'secret', autoAnswer: true });
  R.connected = ua.connected;
  if (!ua.connected) return R;
  R.register = await ua.register(10000);
  if (!R.register.ok) return R;
  const c = await ua.incoming(30000);
  if (!c) { R.incoming = false; return R; }
  R.incoming = true;
  R.from = c.events[0] && c.events[0].from;
  R.state = await c.waitState('confirmed', 10000);
  R.stats = await c.stats();
  const pc = c.pc();   // SIP.js reports no SDP events: the descriptions
  R.offer = c.remoteSdp || (pc && pc.remoteDescription && pc.remoteDescription.sdp) || '';
  R.answer = c.localSdp || (pc && pc.localDescription && pc.localDescription.sdp) || '';
  R.end = await c.waitEnded(15000);
  return R;
}
JS
sb_browser_bg callee --timeout 60 --wav "$SB_WORK/mic.wav" --arg "{\"ws\":\"$SB_WS_URL\",\"lib\":\"${SB_LIB:-jssip}\"}" "@$SB_WORK/callee.js"
if ! sb_wait_log callee '"ev":"registered"' 30; then
	sb_fail "browser registered through the gateway"
	sb_wait callee 40; sb_finish
fi
sb_pass "browser registered through the gateway"
sb_wait reg 10
M=$SB_WORK/reg.msg
# the binding the registrar would store: Contact URI and Path of the last REGISTER
contact=$(tr -d '\r' <"$M" | awk '/^REGISTER /{c=""; p=""} /^Contact:/{c=$0} /^Path:/{p=$0} END{print c}' | sed -E 's/^Contact:[^<]*<([^>]*)>.*/\1/')
path=$(tr -d '\r' <"$M" | awk '/^REGISTER /{p=""} /^Path:/{p=$0} END{print p}' | sed -E 's/^Path: *//')
[ -n "$path" ] || path="<sip:127.0.0.1:$SB_SIP_PORT;lr>"
echo "  registered Contact: $contact"
echo "  Path used as Route: $path"
sb_check "registrar saw a Contact" test -n "$contact"

SCEN=${SB_UAC_SCENARIO:-uac_call_route.xml}
sb_run 30 uac sipp -sf "$SB_SIPP_DIR/$SCEN" -i 127.0.0.1 -p "$UAC_PORT" -mi 127.0.0.1 -mp "$UAC_MEDIA" \
	-m 1 -nostdin -s alice -set ruri "$contact" -set route "$path" -set pt 0 -set codec PCMU -d 3000 \
	-timeout 25 -trace_msg -message_file "$SB_WORK/uac.msg" "127.0.0.1:$SB_SIP_PORT"
sb_expect_eq "sipp UAC: INVITE answered 200, BYE answered 200 (exit 0)" 0 $?
sb_wait callee 30
sb_expect_eq "browser driver exit status" 0 $?
J=$SB_WORK/callee.json
sb_expect_json "INVITE reached the browser" "$J" 'r.incoming === true'
sb_expect_json "browser answered, call confirmed" "$J" 'r.state === "confirmed"'
sb_expect_json "sipp's BYE ended the call in the browser" "$J" 'r.end && r.end.state === "ended" && r.end.originator === "remote"'
sb_check "200 OK to INVITE carried an SDP toward sipp" awk '/^SIP\/2.0 200/{f=1} f && /^m=audio/{ok=1; exit} END{exit !ok}' "$SB_WORK/uac.msg"
# the phone offered PCMU, which the browser has: relayed, not transcoded
# (the gateway lists the phone's codecs before the Opus it adds)
sb_expect_json "the browser answered with the phone's PCMU first" "$J" \
	'/\nm=audio [1-9][0-9]* [A-Z/]+ 0[ \r]/.test(r.answer)'
sb_check "the call was relayed, not transcoded (gateway's media line)" \
	grep -q "media end: " "$SB_WORK/sipbridge.log"
if grep -q '^m=video' "$SB_SIPP_DIR/$SCEN"; then
	sb_expect_json "the browser was offered no live video stream" "$J" \
		'!/\nm=video [1-9]/.test(r.offer) && /\nm=audio [1-9]/.test(r.offer)'
	sb_check "200 OK toward sipp rejects the video (m=video 0) and keeps the audio" \
		awk '/^SIP\/2.0 200/{f=1} f && /^m=video 0 /{v=1} f && /^m=audio [1-9]/{a=1} END{exit !(v && a)}' "$SB_WORK/uac.msg"
fi
sb_check "daemon still running" sb_alive sipbridge
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
