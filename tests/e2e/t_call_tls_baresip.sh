#!/bin/bash
# Calls over SIP TLS with a real peer, both ways. baresip listens on TLS
# (its sip_listen port + 1, with the development certificate) and is the
# outbound proxy as "sip:IP:PORT;transport=tls", as a trunk that takes TLS
# only is configured; the gateway has a tls: listener of its own.
#   browser -> baresip: headless Chromium + JsSIP calls through the gateway;
#     the INVITE reaches baresip over TLS with a TLS Via and a Record-Route
#     that says transport=tls (so baresip's in-dialog requests come back
#     over TLS), audio flows both ways (400 Hz to the browser, 1 kHz to
#     baresip), the browser hangs up and baresip sees the BYE.
#   baresip -> gateway: baresip dials the echo service at the gateway's TLS
#     listener, hears its own 400 Hz back, and its BYE (sent over TLS when
#     it quits) ends the call.
# Then: no call, transaction or media session left; no sanitizer report.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node baresip sox openssl
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_sip_tls
sb_baresip_callee PCMU 30
BS_TLS=$((BS_PORT + 1))   # baresip 1.0 puts its TLS listener there
printf 'sip_certificate\t\t%s\n' "$SB_TLS_PEM" >>"$SB_WORK/bs/config"
SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$BS_TLS;transport=tls"
sb_daemon_start
grep -E '^ *sip  |^tls:|outbound' "$SB_CONF" | sed 's/^/    /'
sb_check "the gateway's SIP TLS port listens" sb_wait_port tcp "$SB_SIP_TLS_PORT" 3
sb_bg baresip baresip -s -f "$SB_WORK/bs" -t 40
sb_wait_port tcp "$BS_TLS" 5 || sb_die "baresip's TLS listener ($BS_TLS) did not start"

echo "browser -> gateway -> TLS -> baresip"
cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call(a.target);
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
sb_browser call 60 --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"target\":\"sip:callee@$SB_SIP_IPH:$BS_TLS\"}" @"$SB_WORK/call.js"
echo "  browser result: $(head -c 600 "$SB_WORK/call.json" 2>/dev/null)"
sb_expect_eq "call confirmed" confirmed "$(sb_json "$SB_WORK/call.json" r.state)"
hz=$(sb_json "$SB_WORK/call.json" 'Math.round(r.tone.peakHz)')
sb_expect_near "browser hears baresip's 400 Hz" 400 "$hz" 12
sb_expect_eq "browser's DTLS connected" connected "$(sb_json "$SB_WORK/call.json" 'r.stats.transport.dtlsState')"
# baresip's trace (-s) prints each message it receives with its transport
sb_check "the INVITE reached baresip over TLS with the gateway's TLS Via" \
	grep -Eq "^Via: SIP/2.0/TLS $SB_SIP_IPH:$SB_SIP_TLS_PORT;" "$SB_WORK/baresip.log"
sb_check "its Record-Route names the gateway's TLS listener" \
	grep -Eq "^Record-Route: <sip:$SB_SIP_IPH:$SB_SIP_TLS_PORT;[^>]*transport=tls" "$SB_WORK/baresip.log"
sb_wait_log baresip 'BYE sip:' 10
sb_check "the browser's BYE reached baresip" grep -q '^BYE sip:' "$SB_WORK/baresip.log"
sleep 1
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
sb_expect_tone "baresip hears the browser's 1 kHz" "$rec" 1000 -20
sb_expect_idle 10

echo "baresip -> TLS -> gateway's echo service"
sb_stop baresip 5 TERM
sb_bg caller baresip -s -f "$SB_WORK/bs" -t 6 -e "/dial sip:echo@$SB_SIP_IPH:$SB_SIP_TLS_PORT;transport=tls"
sb_wait caller 20
sb_check "the gateway's echo answered over TLS" grep -Eq '^SIP/2.0 200 OK' "$SB_WORK/caller.log"
sb_check "...with a Contact of its TLS listener" \
	grep -Eq "^Contact: <sip:[^>]*$SB_SIP_IPH:$SB_SIP_TLS_PORT;[^>]*transport=tls" "$SB_WORK/caller.log"
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
sb_expect_tone "baresip hears its own 400 Hz echoed" "$rec" 400 -25
sb_check "baresip's BYE went to the gateway's TLS listener" \
	grep -q "^BYE sip:echo@$SB_SIP_IPH:$SB_SIP_TLS_PORT;transport=tls " "$SB_WORK/caller.log"
sb_check "...and was answered 200" awk '/^[A-Z]+ sip:/ { st = "" } /^SIP\/2\.0 / { st = $2 }
	/^CSeq: [0-9]+ BYE/ && st == 200 { ok = 1 } END { exit !ok }' "$SB_WORK/caller.log"
sb_check "the gateway ended the echo call on that BYE" \
	grep -Eq 'call ended \(after answer: BYE\)' <(grep -F "$(grep -m1 -o '\[[0-9a-f]*\] INVITE from SIP to local service echo' "$SB_WORK/sipbridge.log" | cut -d' ' -f1)" "$SB_WORK/sipbridge.log")
sb_expect_idle 10
health=$(sb_health)
sb_check "no media session left in /health" grep -q '"media_sessions":0' <<<"$health"

sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
