#!/bin/bash
# Every method crosses the proxy, both ways where it makes sense, inside and
# outside a dialog, with bodies and auth headers untouched and responses
# relayed back: REGISTER, INVITE, re-INVITE (both ways), UPDATE, PRACK
# (reliable 183), ACK, BYE (both ways), INFO, MESSAGE, REFER, SUBSCRIBE,
# NOTIFY, OPTIONS; OPTIONS to the gateway itself gets 200 with Allow.
# (CANCEL: t_sig_cancel.sh.) A scripted WebSocket peer plays the browser and
# a scripted UDP peer the trunk (tests/sip/sig/methods.js).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node
sb_require_daemon
sb_init

sb_free_port UAS_PORT
# route.dtmf = "info": the in-dialog INFO carries a DTMF body and the
# trunk has telephone-event, so the default ("auto") would answer it in the
# gateway and send RFC 4733 instead (t_dtmf_info.sh); here it must cross
# intact. The template has one route group: the key rides on the proxy.
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS_PORT\"; dtmf = \"info"
sb_daemon_start
sb_sig m 50 "$SB_ROOT/tests/sip/sig/methods.js" "{\"uas\":$UAS_PORT,\"timeout\":45}"
J=$SB_WORK/m.json
[ -s "$J" ] || sb_die "no result from the peers (see m.log)"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
for (const [k, v] of Object.entries(r.steps)) console.log("  step " + k + ": " + JSON.stringify(v));
' "$J"
e() { sb_expect_json "$1" "$J" "((s) => !!s && ($3))(r.steps[\"$2\"])"; }
e "REGISTER: arrives with Authorization untouched, Path and alias added" REGISTER 's.arrived && s.auth && s.path && /sbf=/.test(s.alias)'
e "REGISTER: 200 back, browser's own Contact restored" REGISTER 's.status === 200 && s.contact_restored'
e "OPTIONS browser->SIP: 200 back" "OPTIONS ws->sip" 's.arrived && s.status === 200'
e "MESSAGE browser->SIP: body and Proxy-Authorization untouched, 202 back" "MESSAGE ws->sip" 's.arrived && s.body && s.auth && s.status === 202'
e "SUBSCRIBE browser->SIP: Record-Routed, 200 back" "SUBSCRIBE ws->sip" 's.arrived && s.rr >= 1 && s.status === 200'
e "NOTIFY SIP->browser in the subscription: body untouched, 200 back" "NOTIFY sip->ws (in dialog)" 's.arrived && s.body && s.status === 200'
e "INVITE browser->SIP: plain RTP offer to SIP, WebRTC answer back" "INVITE ws->sip" 's.arrived && s.plain_rtp_offer && s.status === 200 && s.webrtc_answer'
e "ACK for the 2xx reaches SIP" "ACK ws->sip (2xx)" 's.arrived'
for m in INFO MESSAGE UPDATE OPTIONS REFER; do
	e "$m browser->SIP in dialog: arrives intact, answer back" "$m ws->sip (in dialog)" "s.arrived && s.body && s.hdrs && s.status >= 200 && s.status < 300"
done
e "NOTIFY (refer sipfrag) SIP->browser in the call: intact, 200 back" "NOTIFY sip->ws (refer)" 's.arrived && s.body && s.status === 200'
e "re-INVITE browser->SIP (hold): offer and answer cross, ACK arrives" "re-INVITE ws->sip" 's.arrived && s.hold && s.status === 200 && s.answer && s.ack'
for m in INFO MESSAGE UPDATE OPTIONS; do
	e "$m SIP->browser in dialog: arrives intact, 200 back" "$m sip->ws (in dialog)" "s.arrived && s.body && s.status === 200"
done
e "re-INVITE SIP->browser (hold): WebRTC offer to the browser, plain answer back, ACK" "re-INVITE sip->ws" 's.arrived && s.webrtc_offer && s.hold && s.status === 200 && s.plain_answer && s.ack'
e "BYE browser->SIP: 200 back" "BYE ws->sip" 's.arrived && s.status === 200'
e "INVITE SIP->browser via alias + Path: Request-URI restored, WebRTC offer" "INVITE sip->ws (alias + Path)" 's.arrived && s.ruri_restored && s.webrtc_offer'
e "reliable 183 with SDP reaches SIP (RSeq), PRACK reaches the browser (RAck), 200 back" "183 100rel + PRACK sip->ws" 's.got183 && s.sdp183 && s.rseq === "1" && s.prack && /^1 1 INVITE/.test(s.rack) && s.status === 200'
e "INVITE SIP->browser answered, ACK reaches the browser" "INVITE sip->ws answered" 's.status === 200 && s.ack'
e "BYE SIP->browser: 200 back" "BYE sip->ws" 's.arrived && s.status === 200'
for m in MESSAGE OPTIONS SUBSCRIBE; do
	e "$m SIP->browser out of dialog (alias + Path): intact, 200 back" "$m sip->ws (out of dialog)" "s.arrived && s.body && s.status === 200"
done
e "OPTIONS to the gateway itself: 200 with Allow" "OPTIONS to the gateway" 's.status === 200 && /INVITE/.test(s.allow) && /SUBSCRIBE/.test(s.allow)'
# Path, the alias and the Record-Route entries facing SIP name the address
# the SIP side reaches the gateway at, also when the listener is a
# wildcard (t_sig_methods_wildcard.sh): never 0.0.0.0.
e "the SIP side is given $SB_SIP_IPH to send to (Path, alias, Record-Route)" advertised \
	"s.uris.length >= 5 && s.uris.every(u => u.replace(/^sips?:([^@;]*@)?/, '').startsWith('$SB_SIP_IPH:'))"
sb_expect_json "no orphan calls or transactions afterwards" "$J" 'r.idle && r.idle.calls === 0 && r.idle.transactions === 0'
sb_check "daemon still running" sb_alive sipbridge
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
