#!/bin/bash
# CANCEL with real browser stacks (the message-level checks are in
# tests/sip/t_sig_cancel.sh):
#   A. SIP.js calls a sipp UAS that rings forever, then hangs up while it
#      rings: the UAS gets the CANCEL and answers 487; SIP.js sees the 487.
#   B. JsSIP registers (no auto-answer); a sipp UAC calls it through Path +
#      alias and CANCELs while the page rings: JsSIP's call fails with
#      cause "Canceled" by the remote side; the UAC gets 487.
#   No call or transaction is left afterwards.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sipp sox
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_free_port PORT2; sb_free_port UAC_PORT
sb_tone "$SB_WORK/mic.wav" 1000 48000 60
SB_OUTBOUND_PROXY="sip:127.0.0.1:$PORT2"
sb_daemon_start

# ---- A
sb_sipp uas -sf "$SB_SIPP_DIR/sig_uas_ring.xml" -p "$PORT2" -m 1
sb_wait_port udp "$PORT2" 5 || sb_die "sipp UAS did not listen"
cat >"$SB_WORK/a.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'sipjs', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (a.debug) try { ua.ua.loggerFactory.level = 3; } catch (e) {}
  if (!ua.connected) return { error: 'ws not connected' };
  const call = await ua.call('sip:bob@sipbridge.test', { wait: null });
  const r = {};
  r.progress = await call.waitState(['progress'], 10000);
  r.stateRinging = call.state;
  await sb.sleep(500);
  r.hangup = await call.hangup();
  r.status = call.status;
  r.summary = call.summary();
  return r;
}
JS
sb_browser a 60 --wav "$SB_WORK/mic.wav" --arg "{\"ws\":\"$SB_WS_URL\",\"debug\":${SIG_DEBUG:-false}}" "@$SB_WORK/a.js"
sb_expect_json "A: SIP.js heard ringing" "$SB_WORK/a.json" 'r.stateRinging === "progress"'
sb_expect_json "A: SIP.js got 487 after its CANCEL" "$SB_WORK/a.json" 'r.status === 487'
sb_wait uas 10
sb_expect_eq "A: UAS got CANCEL, answered 487 (sipp exit)" 0 $?
sb_expect_idle 10

# ---- B (the same port now serves as registrar)
sb_sipp reg -sf "$SB_SIPP_DIR/sig_registrar.xml" -p "$PORT2" -m 1
sb_wait_port udp "$PORT2" 5 || sb_die "registrar did not listen"
cat >"$SB_WORK/b.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test' });
  if (!ua.connected) return { error: 'ws not connected' };
  const r = {};
  r.register = await ua.register(15000);
  const c = await ua.incoming(40000);
  r.incoming = !!c;
  if (!c) return r;
  r.end = await c.waitEnded(20000);
  r.summary = c.summary();
  return r;
}
JS
sb_browser_bg b --timeout 60 --wav "$SB_WORK/mic.wav" --arg "{\"ws\":\"$SB_WS_URL\"}" "@$SB_WORK/b.js"
sb_wait_log b '"ev":"registered"' 40 || sb_die "JsSIP did not register"
sb_wait reg 5
sb_sig_binding "$SB_WORK/reg.msg"
sb_run 30 uac sipp -sf "$SB_SIPP_DIR/sig_uac_cancel.xml" -i 127.0.0.1 -p "$UAC_PORT" -m 1 -nostdin \
	-set ruri "$SIG_CONTACT" -set route "$SIG_PATH" -d 1500 -timeout 25 \
	-trace_msg -message_file "$SB_WORK/uac.msg" "127.0.0.1:$SB_SIP_PORT"
sb_expect_eq "B: UAC got 180, 200 for CANCEL, 487 (sipp exit)" 0 $?
sb_wait b 30
sb_expect_json "B: the call reached JsSIP" "$SB_WORK/b.json" 'r.incoming'
sb_expect_json "B: JsSIP's ringing call was cancelled by the remote side" "$SB_WORK/b.json" 'r.end && r.end.originator === "remote" && /cancel/i.test(r.end.cause)'
sb_expect_idle 10
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
