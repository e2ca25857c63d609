#!/bin/bash
# The webphone's error messages for the failures a call can meet behind the
# gateway. For each status of a list (403, 408, 480, 486, 488, 503, 606) a
# sipp UAS behind the gateway (outbound proxy) rejects one INVITE with it; the
# page dials through the Call button each time. Last, with nothing listening
# at the outbound proxy, the gateway's own answer (trunk unreachable).
# Checks, for each call: sbPhone.lastError has the code, the message box shows
# its own title and the code, the call log records it, the page goes back to
# idle, and closing the message hides it.
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node sipp sox
sb_require_node_modules
sb_require_daemon
sb_init
"$SB_ROOT/scripts/bundle-www.sh" || sb_die "scripts/bundle-www.sh failed"
sb_free_port UAS_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS_PORT"
sb_daemon_start

# sipp fixes a response's status code when it loads the scenario, so each
# status gets its own scenario file and its own sipp run (-m 1), one at a time.
cat >"$SB_WORK/uas_reject.xml.in" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="UAS rejecting the INVITE with @CODE@">
  <recv request="INVITE" />
  <send><![CDATA[
SIP/2.0 100 Trying
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <send><![CDATA[
SIP/2.0 @CODE@ @REASON@
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <recv request="ACK" />
</scenario>
XML
CASES="403|Forbidden|Call not allowed
408|Request Timeout|No response
480|Temporarily Unavailable|Not available
486|Busy Here|Busy
488|Not Acceptable Here|No common codec
503|Service Unavailable|Gateway busy or trunk unreachable
606|Not Acceptable|Call failed"
N=$(wc -l <<<"$CASES")

cat >"$SB_WORK/errors.js" <<'JS'
async (page, a, h) => {
  const R = { calls: [] };
  await page.goto(a.url + '/?raw=1');
  R.connected = !!await h.waitPhone('window.sbPhone && sbPhone.state.ws === "connected"', 10000);
  if (!R.connected) return R;
  const fs = require('fs');
  for (let i = 0; i <= a.n; i++) {
    const c = {};
    // the shell writes go.N once the sipp for call N listens
    for (let t = 0; t < 200 && !fs.existsSync(`${a.work}/go.${i}`); t++) await h.sleep(50);
    await page.fill('#target', `bob${i}@example.com`);
    await page.click('#call-btn');
    c.err = await h.waitPhone('sbPhone.lastError', 40000);
    c.visible = await page.isVisible('#error');
    c.title = await page.textContent('#error-title');
    c.detail = await page.textContent('#error-detail');
    c.idle = !!await h.waitPhone('sbPhone.state.call === "idle"', 5000);
    await page.click('#error-close');
    c.closed = !await page.isVisible('#error') && await page.evaluate('sbPhone.lastError === null');
    c.log = await page.evaluate('sbPhone.callLog()[0]');
    R.calls.push(c);
    console.log('WEBPHONE-DONE ' + i);
  }
  return R;
}
JS
ARG=$(printf '{"url":"%s","n":%d,"work":"%s"}' "$SB_HTTP_URL" "$N" "$SB_WORK")
sb_bg page timeout -k 5 115 node "$SB_ROOT/tests/e2e/webphone_drive.js" --url "$SB_HTTP_URL" --timeout 110 \
	--out "$SB_WORK/errors.json" --arg "$ARG" "@$SB_WORK/errors.js"
i=0
while IFS='|' read -r code reason title; do
	sed -e "s/@CODE@/$code/" -e "s/@REASON@/$reason/" "$SB_WORK/uas_reject.xml.in" >"$SB_WORK/uas_$code.xml"
	sb_sipp "uas$code" -sf "$SB_WORK/uas_$code.xml" -p "$UAS_PORT" -m 1
	sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp UAS did not listen"
	touch "$SB_WORK/go.$i"
	sb_wait_log page "WEBPHONE-DONE $i\$" 25 || sb_fail "page did not finish call $i ($code)"
	sb_wait "uas$code" 10
	sb_expect_eq "sipp UAS sent $code and got the ACK (exit 0)" 0 $?
	i=$((i + 1))
done <<<"$CASES"
touch "$SB_WORK/go.$N"          # the last call: nothing listens at the outbound proxy
sb_wait_log page "WEBPHONE-DONE $N\$" 45 || sb_fail "page did not finish the last call"
sb_wait page 20
sb_expect_eq "driver exit status" 0 "$?"
J=$SB_WORK/errors.json
sb_expect_json "WebSocket connected" "$J" 'r.connected'
i=0
while IFS='|' read -r code reason title; do
	sb_expect_json "$code: \"$title\" shown with the code" "$J" \
		"(c => c && c.err.code === $code && c.visible && c.title === '$title' && c.detail.includes('$code'))(r.calls[$i])"
	sb_expect_json "$code: logged, back to idle, message closes" "$J" \
		"(c => c && c.log.code === $code && c.log.result === 'failed' && c.idle && c.closed)(r.calls[$i])"
	i=$((i + 1))
done <<<"$CASES"
echo "  info: trunk unreachable: $(sb_json "$J" "r.calls[$N] && r.calls[$N].err")"
sb_expect_json "trunk unreachable: \"Gateway busy or trunk unreachable\" (503)" "$J" \
	"(c => c && c.err.code === 503 && c.title === 'Gateway busy or trunk unreachable' && c.idle && c.closed)(r.calls[$N])"
sb_health >"$SB_WORK/health.json"
sb_expect_json "/health back to 0 calls" "$SB_WORK/health.json" 'r.calls === 0'
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
