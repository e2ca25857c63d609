#!/bin/bash
# The webphone page (gateway/www) served by the daemon itself, driven in
# headless Chromium through real clicks (tests/e2e/webphone_drive.js).
# Checks: the page, its script and the JsSIP bundle are served; the page
# connects its WebSocket (status line says Connected) with an anonymous
# identity and no REGISTER, and stays connected while idle (it greets the
# gateway with OPTIONS before limits.ws_first_message_ms); dial pad and backspace; settings validate, save
# to localStorage, survive a reload and can be forgotten; dialing an unknown
# number with no outbound proxy shows the 404 message and logs the call;
# the layout fits a phone screen with large touch targets; a refused
# microphone shows its message; stopping the daemon shows "WebSocket
# disconnected". Saves a screenshot of the page (SB_WEBPHONE_SHOT).
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sox
sb_require_node_modules
sb_require_daemon
sb_init
"$SB_ROOT/scripts/bundle-www.sh" || sb_die "scripts/bundle-www.sh failed"
SB_OUTBOUND_PROXY=""
# a short first-message deadline: an idle page must still stay connected
SB_CONF_EXTRA="limits: { ws_first_message_ms = 5000; };"
sb_daemon_start

sb_check "GET / serves the webphone" sh -c 'ip netns exec "$1" curl -sf "$2/" | grep -q "sipbridge webphone"' _ "$SB_NS" "$SB_HTTP_URL"
sb_check "GET /phone.js" sb_nsx curl -sf -o /dev/null "$SB_HTTP_URL/phone.js"
sb_check "GET /phone.css" sb_nsx curl -sf -o /dev/null "$SB_HTTP_URL/phone.css"
sb_check "GET /vendor/jssip.min.js (the JsSIP bundle)" sh -c 'ip netns exec "$1" curl -sf "$2/vendor/jssip.min.js" | grep -q "WebSocketInterface"' _ "$SB_NS" "$SB_HTTP_URL"

cat >"$SB_WORK/ui.js" <<'JS'
async (page, a, h) => {
  const R = {};
  const phone = expr => page.evaluate(expr);
  await page.goto(a.url + '/?raw=1');
  R.connected = !!await h.waitPhone('window.sbPhone && sbPhone.state.ws === "connected"', 10000);
  R.status = await page.textContent('#status-text');
  R.statusState = await page.getAttribute('#status', 'data-state');
  R.first = await phone('sbPhone.state');
  await h.sleep(6000);                           // past limits.ws_first_message_ms
  R.idleStill = await phone('({ ws: sbPhone.state.ws, drops: sbPhone.events.filter(e => e.ev === "ws" && e.state === "disconnected").length, options: sbPhone.events.filter(e => e.ev === "options") })');

  // dial pad: 1 2 3 4 5, backspace, 5 again
  for (const k of ['1', '2', '3', '4', '5']) await page.click(`#pad button[data-key="${k}"]`);
  R.typed = await page.inputValue('#target');
  await page.click('#backspace');
  R.afterBackspace = await page.inputValue('#target');
  await page.click('#pad button[data-key="5"]');

  // settings: a bad URI is refused, a good one is saved and kept over a reload
  await page.click('#settings summary');
  await page.fill('#set-uri', 'alice');
  await page.click('#settings-save');
  R.badUriMsg = await page.textContent('#settings-msg');
  R.badUriSaved = await phone('sbPhone.settings().uri');
  await page.fill('#set-uri', 'sip:alice@example.com');
  await page.fill('#set-name', 'Alice Example');
  await page.selectOption('#set-dtmf', 'info');
  await page.click('#settings-save');
  R.savedMsg = await page.textContent('#settings-msg');
  R.saved = await phone('JSON.parse(localStorage.getItem("sipbridge.webphone.settings"))');
  await h.waitPhone('sbPhone.state.ws === "connected"', 10000);
  R.withUri = await phone('sbPhone.state');
  await page.reload();
  await h.waitPhone('window.sbPhone && sbPhone.state.ws === "connected"', 10000);
  await page.click('#settings summary');
  R.reloaded = { uri: await page.inputValue('#set-uri'), name: await page.inputValue('#set-name'),
    dtmf: await page.inputValue('#set-dtmf'), identity: await page.textContent('#identity') };
  await page.click('#settings-forget');
  await page.selectOption('#set-dtmf', 'rfc2833');
  await page.click('#settings-save');
  await h.waitPhone('sbPhone.state.ws === "connected"', 10000);
  R.forgot = await phone('sbPhone.state');
  await page.click('#settings summary');        // fold it again

  // an unknown number: no outbound proxy, so the gateway answers 404
  await page.fill('#target', '');
  for (const k of ['1', '2', '3', '4', '5']) await page.click(`#pad button[data-key="${k}"]`);
  await page.click('#call-btn');
  R.err404 = await h.waitPhone('sbPhone.lastError', 15000);
  R.errorVisible = await page.isVisible('#error');
  R.errorText = await page.textContent('#error');
  R.log = await phone('sbPhone.callLog()');
  R.logShown = await page.textContent('#log');
  await h.sleep(1700);                          // "Call failed" gives way to the dial pad
  R.afterFail = await phone('sbPhone.state');
  R.fieldKept = await page.inputValue('#target');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(1, 1);                   // no hover highlight in the picture
  if (a.screenshot) await h.shot(a.screenshot, { fullPage: true });

  // room dialog: opens, refuses a bad name, cancel closes it
  await page.click('#room-btn');
  R.roomOpen = await page.isVisible('#room-dialog');
  await page.fill('#room-name', 'bad name!');
  R.roomInvalid = await page.evaluate(() => !document.getElementById('room-name').checkValidity());
  await page.click('#room-cancel');
  R.roomClosed = !await page.isVisible('#room-dialog');

  // phone-sized screen: nothing wider than the screen, big keys
  await page.setViewportSize({ width: 390, height: 844 });
  await h.sleep(200);
  R.mobile = await page.evaluate(() => {
    const pad = [...document.querySelectorAll('#pad button')].map(b => b.getBoundingClientRect());
    const btn = id => document.getElementById(id).getBoundingClientRect();
    return { scrollWidth: document.documentElement.scrollWidth,
      minKey: Math.min(...pad.map(r => Math.min(r.width, r.height))),
      call: Math.min(btn('call-btn').width, btn('call-btn').height),
      echo: btn('echo-btn').height, room: btn('room-btn').height };
  });
  if (a.mobileShot) await h.shot(a.mobileShot, { fullPage: true });
  await page.setViewportSize({ width: 1100, height: 820 });

  // a refused microphone
  await page.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  });
  await page.reload();
  await h.waitPhone('window.sbPhone && sbPhone.state.ws === "connected"', 10000);
  await page.click('#echo-btn');
  R.micErr = await h.waitPhone('sbPhone.lastError', 5000);
  R.micText = await page.textContent('#error');

  // the gateway goes away
  console.log('WEBPHONE-STOP-DAEMON');
  R.wsErr = await h.waitPhone('sbPhone.lastError && sbPhone.lastError.code === "ws" && sbPhone.lastError', 15000);
  R.wsText = await page.textContent('#error');
  R.wsStatus = await page.textContent('#status-text');
  R.wsState = await page.getAttribute('#status', 'data-state');
  R.errors = await phone('sbPhone.events.filter(e => e.ev === "error")');
  return R;
}
JS
# SB_WEBPHONE_SHOT: where the page's picture goes (default: the scratch
# directory, so a test run leaves the source tree clean; set it to
# doc/webphone.png to refresh the picture the documentation shows).
SHOT=${SB_WEBPHONE_SHOT:-$SB_WORK/webphone.png}
mkdir -p "$(dirname "$SHOT")"
ARG=$(printf '{"url":"%s","screenshot":"%s","mobileShot":"%s"}' "$SB_HTTP_URL" "$SHOT" "$SB_WORK/webphone-mobile.png")
sb_bg ui timeout -k 5 90 node "$SB_ROOT/tests/e2e/webphone_drive.js" --url "$SB_HTTP_URL" --timeout 80 \
	--out "$SB_WORK/ui.json" --arg "$ARG" "@$SB_WORK/ui.js"
if sb_wait_log ui 'WEBPHONE-STOP-DAEMON' 70; then
	sb_stop sipbridge 5 TERM
	sb_expect_eq "daemon exit status after SIGTERM" 0 "$?"
else
	sb_fail "page never got to the disconnect step"
fi
sb_wait ui 30
sb_expect_eq "driver exit status" 0 "$?"
J=$SB_WORK/ui.json
echo "  info: $(sb_json "$J" '({status: r.status, err404: r.err404, mobile: r.mobile})' 2>/dev/null)"

sb_expect_json "WebSocket connected" "$J" 'r.connected && r.first.ws === "connected"'
sb_expect_json "status line says Connected" "$J" '/^Connected/.test(r.status) && r.statusState === "connected"'
sb_expect_json "idle page stays connected past the first-message deadline (OPTIONS 200)" "$J" 'r.idleStill.ws === "connected" && r.idleStill.drops === 0 && r.idleStill.options[0] && r.idleStill.options[0].status === 200'
sb_expect_json "anonymous identity, no REGISTER" "$J" '/^sip:web-[a-z0-9]+@sipbridge\.invalid$/.test(r.first.identity) && r.first.anonymous && r.first.registration === "none"'
sb_expect_json "dial pad types 12345" "$J" 'r.typed === "12345"'
sb_expect_json "backspace deletes one character" "$J" 'r.afterBackspace === "1234"'
sb_expect_json "settings refuse a URI without a host" "$J" '/sip:alice@example\.com/.test(r.badUriMsg) && r.badUriSaved === ""'
sb_expect_json "settings saved to localStorage" "$J" 'r.saved.uri === "sip:alice@example.com" && r.saved.displayName === "Alice Example" && r.saved.dtmf === "info" && /Saved/.test(r.savedMsg)'
sb_expect_json "URI without password: still no REGISTER" "$J" 'r.withUri.identity === "sip:alice@example.com" && r.withUri.registration === "none" && r.withUri.ws === "connected"'
sb_expect_json "settings survive a reload" "$J" 'r.reloaded.uri === "sip:alice@example.com" && r.reloaded.name === "Alice Example" && r.reloaded.dtmf === "info" && /alice@example\.com/.test(r.reloaded.identity)'
sb_expect_json "forget account: anonymous again" "$J" 'r.forgot.anonymous && /^sip:web-/.test(r.forgot.identity)'
sb_expect_json "unknown number: lastError 404" "$J" 'r.err404 && r.err404.code === 404'
sb_expect_json "404 message shown" "$J" 'r.errorVisible && /Number not found/.test(r.errorText) && /404/.test(r.errorText)'
sb_expect_json "call log has the failed call" "$J" 'r.log[0] && r.log[0].uri === "sip:12345@127.0.0.1" && r.log[0].result === "failed" && r.log[0].code === 404 && /12345@127\.0\.0\.1/.test(r.logShown)'
sb_expect_json "back to idle after the failure, number kept for a retry" "$J" 'r.afterFail.call === "idle" && r.fieldKept === "12345"'
sb_expect_json "room dialog opens, refuses a bad name, cancels" "$J" 'r.roomOpen && r.roomInvalid && r.roomClosed'
sb_expect_json "phone screen: no horizontal scrolling" "$J" 'r.mobile.scrollWidth <= 390'
sb_expect_json "phone screen: touch targets >= 44 px" "$J" 'r.mobile.minKey >= 44 && r.mobile.call >= 44 && r.mobile.echo >= 44 && r.mobile.room >= 44'
sb_expect_json "refused microphone: its message" "$J" 'r.micErr && r.micErr.code === "mic" && /No microphone permission/.test(r.micText)'
sb_expect_json "daemon gone: WebSocket disconnected message" "$J" 'r.wsErr && /WebSocket disconnected/.test(r.wsText) && r.wsState === "disconnected" && /Disconnected/.test(r.wsStatus)'
sb_check "screenshot saved to $SHOT" test -s "$SHOT"
sb_check_sanitizers
sb_finish
