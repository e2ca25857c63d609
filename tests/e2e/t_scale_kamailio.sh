#!/bin/bash
# Two sipbridge nodes behind Kamailio (Debian's), as doc/DESIGN.md "Scale
# beyond one machine" describes. Kamailio (tests/sip/kamailio/scale.cfg.in)
# is both nodes' outbound proxy, the browsers' registrar and the
# dispatcher of phones' calls to conference rooms.
#   1. Browser to browser across the nodes: bob (JsSIP) registers through
#      node B, Kamailio stores node B's Path; alice (JsSIP) on node A calls
#      sip:bob@...: node A -> Kamailio (location lookup, Path as route) ->
#      node B -> bob, who answers. Each browser hears the other's tone
#      (1 kHz from alice, 400 Hz from bob): ICE + DTLS-SRTP on each node,
#      plain RTP between them. alice hangs up; bob sees the BYE.
#   2. Phones to a room: two sipp phones call conf-lobby at Kamailio at
#      once; the dispatcher's hash sends both to the same node, whose room
#      answers both.
#   3. That node stops: the next phone's call to conf-lobby times out
#      there, and Kamailio's failure route takes it to the other node,
#      which answers.
# No call, transaction or media session is left on the nodes that run.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sipp kamailio sox
sb_require_node_modules
sb_require_daemon
sb_init
sb_bundle

sb_free_port KAM_PORT
SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$KAM_PORT"
declare -A WS HTTP SIP
# start_node NAME: start a daemon of its own ports as NAME (log $SB_WORK/NAME.log)
start_node() {
	sb_daemon_new_ports
	sb_daemon_start "$1"
	WS[$1]=$SB_WS_URL; HTTP[$1]=$SB_HTTP_URL; SIP[$1]=$SB_SIP_PORT
}
health() { sb_nsx curl -sf --max-time 2 "${HTTP[$1]}/health"; }
idle() {
	local i h
	for ((i = 0; i < 50; i++)); do
		h=$(health "$1")
		grep -q '"calls": *0[,}]' <<<"$h" && grep -q '"transactions": *0[,}]' <<<"$h" &&
			grep -q '"media_sessions": *0[,}]' <<<"$h" && return 0
		sleep 0.2
	done
	echo "    $1: $h"; return 1
}
start_node A
start_node B
printf '1 sip:%s:%s\n1 sip:%s:%s\n' "$SB_SIP_IPH" "${SIP[A]}" "$SB_SIP_IPH" "${SIP[B]}" >"$SB_WORK/dispatcher.list"
sed -e "s|@LISTEN@|udp:$SB_SIP_IPH:$KAM_PORT|" -e "s|@DSLIST@|$SB_WORK/dispatcher.list|" \
	"$SB_ROOT/tests/sip/kamailio/scale.cfg.in" >"$SB_WORK/kamailio.cfg"
mkdir -p "$SB_WORK/kamrun"
sb_bg kam kamailio -DD -E -m 64 -M 8 -f "$SB_WORK/kamailio.cfg" -Y "$SB_WORK/kamrun"
sb_wait_port udp "$KAM_PORT" 10 || { tail -20 "$SB_WORK/kam.log"; sb_die "Kamailio did not start"; }
echo "  node A sip ${SIP[A]}, node B sip ${SIP[B]}, Kamailio $KAM_PORT"

echo "1. alice (node A) calls bob (node B) through Kamailio"
sb_tone "$SB_WORK/alice.wav" 1000 48000 60
sb_tone "$SB_WORK/bob.wav" 400 48000 60
cat >"$SB_WORK/bob.js" <<'JS'
async (a) => {
  const R = {};
  const ua = await sb.ua({ lib: 'jssip', name: 'bob', ws: a.ws, uri: 'sip:bob@sipbridge.test', autoAnswer: true });
  if (!ua.connected) return R;
  R.register = await ua.register(10000);
  if (!R.register.ok) return R;
  const c = await ua.incoming(30000);
  R.incoming = !!c;
  if (!c) return R;
  R.state = await c.waitState('confirmed', 10000);
  await sb.sleep(1000);
  R.tone = await c.tone(2000);
  R.end = await c.waitEnded(20000);
  return R;
}
JS
cat >"$SB_WORK/alice.js" <<'JS'
async (a) => {
  const R = {};
  const ua = await sb.ua({ lib: 'jssip', name: 'alice', ws: a.ws, uri: 'sip:alice@sipbridge.test' });
  if (!ua.connected) return R;
  R.register = await ua.register(10000);
  const c = await ua.call('sip:bob@sipbridge.test');
  R.state = c.state; R.status = c.status;
  if (c.state !== 'confirmed') return R;
  await sb.sleep(1000);
  R.tone = await c.tone(2000);
  R.stats = await c.stats();
  await sb.sleep(1000);
  R.end = await c.hangup();
  return R;
}
JS
sb_browser_bg bob --timeout 60 --wav "$SB_WORK/bob.wav" --arg "{\"ws\":\"${WS[B]}\"}" "@$SB_WORK/bob.js"
sb_wait_log bob '"ev":"registered"' 30 || sb_fail "bob registered through node B"
sb_check "Kamailio stored bob with node B's Path" \
	grep -Eq "REGISTER sip:bob@sipbridge.test via .* path=<sip:$SB_SIP_IPH:${SIP[B]};" "$SB_WORK/kam.log"
sb_browser alice 60 --wav "$SB_WORK/alice.wav" --arg "{\"ws\":\"${WS[A]}\"}" "@$SB_WORK/alice.js"
sb_wait bob 30
echo "  alice: $(head -c 300 "$SB_WORK/alice.json")"
echo "  bob: $(head -c 300 "$SB_WORK/bob.json")"
sb_expect_json "alice's call to bob confirmed" "$SB_WORK/alice.json" 'r.state === "confirmed"'
sb_check "Kamailio routed it to bob's alias at node B" \
	grep -Eq "call alice -> bob at sip:[^@]*@$SB_SIP_IPH:${SIP[B]};.*sbf=" "$SB_WORK/kam.log"
sb_check "node A sent it to Kamailio" grep -q "INVITE from browser .* via $SB_OUTBOUND_PROXY" "$SB_WORK/A.log"
sb_expect_near "alice hears bob's 400 Hz" 400 "$(sb_json "$SB_WORK/alice.json" 'Math.round(r.tone.peakHz)')" 12
sb_expect_near "bob hears alice's 1 kHz" 1000 "$(sb_json "$SB_WORK/bob.json" 'Math.round(r.tone.peakHz)')" 20
sb_expect_json "alice's DTLS connected (node A)" "$SB_WORK/alice.json" 'r.stats.transport.dtlsState === "connected"'
sb_expect_json "bob saw alice's BYE" "$SB_WORK/bob.json" 'r.end && r.end.state === "ended" && r.end.originator === "remote"'
sb_check "node A idle" idle A
sb_check "node B idle" idle B

echo "2. two phones call conf-lobby at Kamailio"
sb_free_port P1; sb_free_port P2; sb_free_sipp_media M1; sb_free_sipp_media M2
phone() { # NAME PORT MEDIA ROOM: a sipp phone calling ROOM at Kamailio for 4 s
	sb_sipp "$1" -sf "$SB_SIPP_DIR/uac_call.xml" -p "$2" -mi "$SB_SIP_IP" -mp "$3" -m 1 \
		-s "$4" -set pt 0 -set codec PCMU -d 4000 -timeout 30 "$SB_SIP_IPH:$KAM_PORT"
}
phone ph1 "$P1" "$M1" conf-lobby
phone ph2 "$P2" "$M2" conf-lobby
sb_wait ph1 30; r1=$?
sb_wait ph2 30; r2=$?
sb_expect_eq "phone 1: answered by the room, BYE 200 (exit 0)" 0 "$r1"
sb_expect_eq "phone 2: answered by the room, BYE 200 (exit 0)" 0 "$r2"
nodes=$(sed -n 's/.*room conf-lobby -> node [^:]*:\([0-9]*\)$/\1/p' "$SB_WORK/kam.log" | sort -u)
echo "  conf-lobby went to port(s): $nodes"
sb_check "both went to one node" test "$(wc -w <<<"$nodes")" = 1
ROOM=A; [ "$nodes" = "${SIP[B]}" ] && ROOM=B
OTHER=B; [ $ROOM = B ] && OTHER=A
sb_expect_eq "node $ROOM's room answered both" 2 "$(grep -c 'local service conf:lobby answered' "$SB_WORK/$ROOM.log")"
sb_check "node $ROOM idle" idle $ROOM

echo "3. node $ROOM stops: the next call to conf-lobby goes to node $OTHER"
sb_stop "$ROOM" 5 TERM
sb_expect_eq "node $ROOM exit status" 0 "$?"
sb_free_port P3; sb_free_sipp_media M3
phone ph3 "$P3" "$M3" conf-lobby
sb_wait ph3 40
sb_expect_eq "phone 3: answered (exit 0)" 0 "$?"
sb_check "Kamailio moved the room to node $OTHER" grep -q "room conf-lobby -> next node .*:${SIP[$OTHER]}$" "$SB_WORK/kam.log"
sb_expect_eq "node $OTHER's room answered it" 1 "$(grep -c 'local service conf:lobby answered' "$SB_WORK/$OTHER.log")"
sb_check "node $OTHER idle" idle $OTHER

sb_stop kam 5 TERM
sb_stop "$OTHER" 5 TERM
sb_expect_eq "node $OTHER exit status" 0 "$?"
sb_check_sanitizers "$SB_WORK/A.log"
sb_check_sanitizers "$SB_WORK/B.log"
sb_finish
