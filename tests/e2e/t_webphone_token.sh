#!/bin/bash
# The webphone against a gateway that requires WebSocket tokens
# (auth.token_secrets, sip/auth_token.h). Checks: opened without a token the
# page does not connect and says why (the gateway may need a login link);
# opened from a link with ?user=EXPIRY:USER&token=MAC (conf/make-token.sh)
# it passes both on to its WebSocket and connects, and the status line and
# settings never show the token; a forged token is refused and said so.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node openssl
sb_require_node_modules
sb_require_daemon
sb_init
"$SB_ROOT/scripts/bundle-www.sh" || sb_die "scripts/bundle-www.sh failed"
SECRET=webphone-test-secret-0123456789
SB_OUTBOUND_PROXY=""
SB_CONF_EXTRA="auth: { token_secrets = [ \"$SECRET\" ]; token_max_lifetime = 3600; };"
sb_daemon_start
good=$(sh "$SB_ROOT/conf/make-token.sh" "$SECRET" alice 600 | sed -n 's/^query=//p')
bad=$(sh "$SB_ROOT/conf/make-token.sh" "not-the-secret-0123456789" alice 600 | sed -n 's/^query=//p')
[ -n "$good" ] && [ -n "$bad" ] || sb_die "conf/make-token.sh gave no query"

cat >"$SB_WORK/token.js" <<'JS'
async (page, a, h) => {
  const R = {};
  const look = async () => ({
    state: await page.evaluate('sbPhone.state.ws'),
    err: await page.evaluate('sbPhone.lastError'),
    text: await page.textContent('#error'),
    status: await page.textContent('#status-text'),
  });
  await page.goto(a.url + '/?raw=1');
  await h.waitPhone('window.sbPhone && sbPhone.lastError && sbPhone.lastError.code === "ws"', 10000);
  R.none = await look();
  await page.goto(a.url + '/' + a.bad + '&raw=1');
  await h.waitPhone('window.sbPhone && sbPhone.lastError && sbPhone.lastError.code === "ws"', 10000);
  R.forged = await look();
  await page.goto(a.url + '/' + a.good + '&raw=1');
  R.connected = !!await h.waitPhone('window.sbPhone && sbPhone.state.ws === "connected"', 10000);
  R.good = await look();
  R.shown = await page.evaluate(() => document.body.innerText + ' ' + document.getElementById('set-ws').placeholder
    + ' ' + JSON.stringify(sbPhone.events));
  // a call works on the token's connection: the gateway answers 404 for an unknown number
  await page.fill('#target', '4711');
  await page.click('#call-btn');
  R.callErr = await h.waitPhone('sbPhone.lastError', 15000);
  return R;
}
JS
ARG=$(printf '{"url":"%s","good":"%s","bad":"%s"}' "$SB_HTTP_URL" "$good" "$bad")
timeout -k 5 80 ip netns exec "$SB_NS" node "$SB_ROOT/tests/e2e/webphone_drive.js" --url "$SB_HTTP_URL" --timeout 70 \
	--out "$SB_WORK/token.json" --arg "$ARG" "@$SB_WORK/token.js" </dev/null >"$SB_WORK/token.log" 2>&1
sb_expect_eq "driver exit status" 0 "$?"
J=$SB_WORK/token.json
sb_expect_json "no token: not connected, says it may need a login link" "$J" 'r.none.state !== "connected" && /WebSocket disconnected/.test(r.none.text) && /login token/.test(r.none.text)'
sb_expect_json "forged token: not connected, says the token was refused" "$J" 'r.forged.state !== "connected" && /token in this link was refused/.test(r.forged.text)'
sb_expect_json "good token: connected" "$J" 'r.connected && /^Connected/.test(r.good.status) && r.good.err === null'
sb_expect_json "the token is never shown on the page or in its events" "$J" '!r.shown.includes("token=") && !r.shown.includes(":alice")'
sb_expect_json "a call goes through the token's connection (404)" "$J" 'r.callErr && r.callErr.code === 404'
sb_check "gateway logged the refused upgrades" grep -Eq "token|forged|missing" "$SB_WORK/sipbridge.log"
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
