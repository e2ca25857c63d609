#!/bin/bash
# The webphone with an account: it registers through the gateway, then takes
# incoming calls with its Accept and Decline buttons.
#   1. Settings form (real clicks): SIP URI + password saved -> the page
#      REGISTERs through the gateway to a sipp registrar (401 + 200); the status
#      line says registered.
#   2. A sipp UAC calls the registered Contact through the gateway: the page
#      shows the incoming call; Accept answers it; sipp hangs up after 3 s.
#   3. A second call: Decline answers 603; the call log has both calls.
# Steps 2-3 (once expected to fail) check that the gateway routes calls from the SIP
# side to a registered WebSocket (see t_call_sipp_to_jssip.sh).
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sipp sox
sb_require_node_modules
sb_require_daemon
sb_init
"$SB_ROOT/scripts/bundle-www.sh" || sb_die "scripts/bundle-www.sh failed"
sb_free_port REG_PORT; sb_free_port UAC_PORT; sb_free_sipp_media UAC_MEDIA
SB_OUTBOUND_PROXY="sip:127.0.0.1:$REG_PORT"
sb_daemon_start
sb_tone "$SB_WORK/mic.wav" 1000 48000 60
sb_sipp reg -sf "$SB_SIPP_DIR/registrar_401.xml" -p "$REG_PORT" -m 1 -set user alice -set pass secret
sb_wait_port udp "$REG_PORT" 5 || sb_die "registrar did not listen"

cat >"$SB_WORK/incoming.js" <<'JS'
async (page, a, h) => {
  const R = {};
  const phone = expr => page.evaluate(expr);
  await page.goto(a.url + '/?raw=1');
  R.connected = !!await h.waitPhone('window.sbPhone && sbPhone.state.ws === "connected"', 10000);
  await page.click('#settings summary');
  await page.fill('#set-uri', 'sip:alice@sipbridge.test');
  await page.fill('#set-password', 'secret');
  await page.fill('#set-name', 'Alice');
  await page.click('#settings-save');
  R.registered = !!await h.waitPhone('sbPhone.state.registration === "registered"', 10000);
  R.status = await page.textContent('#status-text');
  R.identity = await page.textContent('#identity');
  console.log('WEBPHONE-REGISTERED ' + R.registered);
  if (!R.registered) { R.lastError = await phone('sbPhone.lastError'); return R; }

  // call 1: Accept
  R.in1 = !!await h.waitPhone('sbPhone.state.call === "incoming"', 30000);
  if (!R.in1) return R;
  R.panel = { visible: await page.isVisible('#incoming'), from: await page.textContent('#incoming-from'),
    title: await page.title() };
  await page.click('#accept-btn');
  R.confirmed = !!await h.waitPhone('sbPhone.state.call === "confirmed"', 10000);
  R.tone = await h.waitPhone('(() => { const l = sbPhone.levels(); return l.remote && l.remote.db > -90 && l; })()', 3000);
  R.end1 = !!await h.waitPhone('sbPhone.state.call === "idle"', 20000);
  R.ev1 = await phone('sbPhone.events.filter(e => e.ev === "ended").pop()');
  console.log('WEBPHONE-CALL1-DONE');

  // call 2: Decline
  R.in2 = !!await h.waitPhone('sbPhone.state.call === "incoming"', 30000);
  if (!R.in2) return R;
  await page.click('#decline-btn');
  R.end2 = !!await h.waitPhone('sbPhone.state.call === "idle"', 10000);
  R.log = await phone('sbPhone.callLog().slice(0, 2)');
  R.lastError = await phone('sbPhone.lastError');
  return R;
}
JS
ARG=$(printf '{"url":"%s"}' "$SB_HTTP_URL")
sb_bg page timeout -k 5 100 node "$SB_ROOT/tests/e2e/webphone_drive.js" --url "$SB_HTTP_URL" --wav "$SB_WORK/mic.wav" \
	--timeout 95 --out "$SB_WORK/page.json" --arg "$ARG" "@$SB_WORK/incoming.js"
if ! sb_wait_log page 'WEBPHONE-REGISTERED true' 30; then
	sb_fail "page registered through the gateway"
	sb_wait page 20; sb_finish
fi
sb_pass "page registered through the gateway"
sb_wait reg 10
M=$SB_WORK/reg.msg
# the trace keeps the wire's CRs: a CR inside -set would end sipp's headers
contact=$(tr -d '\r' <"$M" | awk '/^Contact:/{c=$0} END{print c}' | sed -E 's/^Contact:[^<]*<([^>]*)>.*/\1/')
path=$(tr -d '\r' <"$M" | awk '/^REGISTER /{p=""} /^Path:/{p=$0} END{print p}' | sed -E 's/^Path: *//')
[ -n "$path" ] || path="<sip:127.0.0.1:$SB_SIP_PORT;lr>"
echo "  registered Contact: $contact, Path: $path"
sb_check "registrar saw the page's Contact" test -n "$contact"

uac() { # NAME: one call from sipp to the registered page
	sb_run 40 "$1" sipp -sf "$SB_SIPP_DIR/uac_call_route.xml" -i 127.0.0.1 -p "$UAC_PORT" -mi 127.0.0.1 \
		-mp "$UAC_MEDIA" -m 1 -nostdin -s alice -set ruri "$contact" -set route "$path" -set pt 0 -set codec PCMU \
		-d 3000 -timeout 30 -trace_msg -message_file "$SB_WORK/$1.msg" "127.0.0.1:$SB_SIP_PORT"
}
uac uac1
sb_expect_eq "call 1: sipp got 200 to INVITE and to BYE (exit 0)" 0 $?
sb_wait_log page 'WEBPHONE-CALL1-DONE' 10
uac uac2
sb_check "call 2: sipp got 603 Decline" grep -q '^SIP/2.0 603' "$SB_WORK/uac2.msg"
sb_wait page 30
sb_expect_eq "driver exit status" 0 "$?"
J=$SB_WORK/page.json
sb_expect_json "status line: registered as alice" "$J" '/registered as alice@sipbridge\.test/.test(r.status) && r.identity === "alice@sipbridge.test"'
sb_expect_json "incoming call shown with the caller" "$J" 'r.in1 && r.panel.visible && /sipp@127\.0\.0\.1/.test(r.panel.from) && /Incoming/.test(r.panel.title)'
sb_expect_json "Accept: call confirmed" "$J" 'r.confirmed'
sb_expect_json "far end's BYE ends it" "$J" 'r.end1 && r.ev1 && r.ev1.originator === "remote"'
sb_expect_json "second call: Decline" "$J" 'r.in2 && r.end2'
sb_expect_json "call log: declined, then answered (incoming)" "$J" 'r.log[0].dir === "in" && r.log[0].result === "declined" && r.log[1].dir === "in" && r.log[1].result === "answered"'
sb_expect_json "no error shown" "$J" 'r.lastError === null'
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
