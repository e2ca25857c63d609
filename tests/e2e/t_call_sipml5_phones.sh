#!/bin/bash
# sipML5 (npm "sipml" 2.1.4) with SIP phones, both ways:
#   1. sipML5 calls baresip (auto-answers with PCMU, plays 400 Hz) through
#      the gateway: the page hears 400 Hz, baresip's recording holds the
#      page's 1 kHz, the page hangs up and baresip sees the BYE.
#   2. sipML5 registers through the gateway to a sipp registrar that asks
#      for digest credentials (401, then 200); a sipp phone calls the
#      Contact the registrar stored, routed by its Path; sipML5 accepts,
#      DTLS connects, and the phone's BYE ends the call on the page.
# After each: no call, transaction or media session left.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sox sipp baresip
sb_require_node_modules
sb_require_daemon
sb_init
sb_bundle
[ -s "$SB_ROOT/tests/e2e/.work/www/SIPml-api.js" ] || sb_skip "sipML5 missing: run 'npm ci'"

echo "1. sipML5 -> baresip"
sb_baresip_callee PCMU 30
sb_daemon_start
sb_bg baresip baresip -f "$SB_WORK/bs" -t 40
sleep 1.5
cat >"$SB_WORK/out.js" <<'JS'
async (a) => {
  const R = {};
  const ua = await sb.sipml({ ws: a.ws, impu: 'sip:alice@sipbridge.test', impi: 'alice' });
  R.start = ua.startResult;
  if (!R.start.ok) return R;
  const c = await ua.call(a.target);
  R.state = c.state; R.status = c.status;
  if (c.state === 'confirmed') {
    await sb.sleep(1500);
    R.tone = await c.tone(2000);
    R.stats = await c.stats();
    R.end = await c.hangup();
  }
  await ua.stop();
  return R;
}
JS
sb_browser out 60 --page sipml.html --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\",\"target\":\"sip:callee@$SB_SIP_IPH:$BS_PORT\"}" @"$SB_WORK/out.js"
J=$SB_WORK/out.json
echo "  browser result: $(head -c 600 "$J" 2>/dev/null)"
sb_expect_json "call connected" "$J" 'r.state === "confirmed"'
hz=$(sb_json "$J" 'Math.round(r.tone.peakHz)')
sb_expect_near "the page hears baresip's 400 Hz" 400 "$hz" 12
sb_expect_json "DTLS connected" "$J" 'r.stats.transport.dtlsState === "connected"'
sb_expect_json "hung up" "$J" 'r.end && r.end.state === "ended"'
sleep 1
sb_stop baresip 5 TERM
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
sb_expect_tone "baresip hears the page's 1 kHz" "$rec" 1000 -20
sb_check "baresip saw the call end" grep -Eiq "terminated|closed|BYE" "$SB_WORK/baresip.log"
sb_expect_idle 10
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers

echo "2. a phone -> sipML5, registered with digest credentials"
mv "$SB_WORK/sipbridge.log" "$SB_WORK/sipbridge-1.log"
sb_free_port REG_PORT; sb_free_port UAC_PORT; sb_free_sipp_media UAC_MEDIA
SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$REG_PORT"
sb_daemon_start
sb_sipp reg -sf "$SB_SIPP_DIR/registrar_401.xml" -p "$REG_PORT" -m 1 -set user alice -set pass secret
sb_wait_port udp "$REG_PORT" 5 || sb_die "registrar did not listen"
cat >"$SB_WORK/in.js" <<'JS'
async (a) => {
  const R = {};
  const ua = await sb.sipml({ ws: a.ws, impu: 'sip:alice@sipbridge.test', impi: 'alice', password: 'secret' });
  R.start = ua.startResult;
  if (!R.start.ok) return R;
  R.register = await ua.register(10000);
  if (!R.register.ok) return R;
  const c = await ua.incoming(30000);
  R.incoming = !!c;
  if (!c) return R;
  R.state = c.state;
  await sb.sleep(1000);
  R.stats = await c.stats();
  R.end = await c.waitEnded(15000);
  await ua.stop();
  return R;
}
JS
sb_browser_bg callee --page sipml.html --timeout 60 --wav "$SB_WORK/tone1k_48k.wav" \
	--arg "{\"ws\":\"$SB_WS_URL\"}" "@$SB_WORK/in.js"
if ! sb_wait_log callee '"who":"sipml/reg","ev":"connected"' 30; then
	sb_fail "sipML5 registered through the gateway"
	sb_wait callee 40; sb_finish
fi
sb_pass "sipML5 registered through the gateway (401, then 200)"
sb_wait reg 10
M=$SB_WORK/reg.msg
contact=$(tr -d '\r' <"$M" | awk '/^Contact:/{c=$0} END{print c}' | sed -E 's/^Contact:[^<]*<([^>]*)>.*/\1/')
path=$(tr -d '\r' <"$M" | awk '/^Path:/{p=$0} END{print p}' | sed -E 's/^Path: *//')
echo "  registered Contact: $contact; Path: $path"
sb_check "the registrar got a Path" test -n "$path"
sb_run 30 uac sipp -sf "$SB_SIPP_DIR/uac_call_route.xml" -i "$SB_SIP_IP" -p "$UAC_PORT" -mi "$SB_SIP_IP" -mp "$UAC_MEDIA" \
	-m 1 -nostdin -s alice -set ruri "$contact" -set route "$path" -set pt 0 -set codec PCMU -d 3000 \
	-timeout 25 -trace_msg -message_file "$SB_WORK/uac.msg" "$SB_SIP_IPH:$SB_SIP_PORT"
sb_expect_eq "sipp phone: INVITE answered 200, BYE answered 200 (exit 0)" 0 $?
sb_wait callee 30
J=$SB_WORK/callee.json
echo "  browser result: $(head -c 400 "$J" 2>/dev/null)"
sb_expect_json "the call reached sipML5" "$J" 'r.incoming === true'
sb_expect_json "sipML5 accepted, call connected" "$J" 'r.state === "confirmed"'
sb_expect_json "DTLS connected" "$J" 'r.stats.transport && r.stats.transport.dtlsState === "connected"'
sb_expect_json "the phone's BYE ended the call on the page" "$J" 'r.end && r.end.state === "ended"'
sb_expect_idle 10
health=$(sb_health)
sb_check "no media session left in /health" grep -q '"media_sessions":0' <<<"$health"
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
