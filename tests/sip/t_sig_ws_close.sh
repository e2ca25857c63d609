#!/bin/bash
# One side disappears or hangs up; the other side hears of it, and nothing
# is left behind (a scripted WebSocket peer plays the browser):
#   A. answered call, then the WebSocket dies (TCP reset, no close frame):
#      the SIP side gets a BYE within 1 s, with Reason "WebSocket closed";
#   B. ringing call, then the WebSocket is closed: the SIP side gets CANCEL
#      (and answers 487);
#   C. answered call, the SIP side sends BYE: the browser gets it (through
#      our Record-Route), answers 200, sipp gets the 200;
#   D. a browser closes its WebSocket cleanly mid-call: BYE within 1 s;
#   E. a phone called the browser, the browser answered, its WebSocket
#      dies: the phone gets BYE within 1 s (in its dialog, with Reason);
#   F. the same while the browser rings: the phone gets 480 within 1 s.
#   After each, /health shows calls 0 and transactions 0.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sipp
sb_require_daemon
sb_init

sb_free_port UAS_PORT; sb_free_sipp_media UAS_MEDIA
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS_PORT"
sb_daemon_start

# sipp trace time of the first line matching REGEX (seconds, float). Only
# differences within one trace are used: sipp's clock and ours disagree.
msg_time() {
	tr -d '\r' <"$1" | awk -v re="$2" '/^-+ [0-9]+-[0-9]+-[0-9]+ /{ts=$3} $0 ~ re {print ts; exit}' |
		awk -F: '{ if ($0 != "") printf "%.6f\n", $1 * 3600 + $2 * 60 + $3 }'
}

cat >"$SB_WORK/call.js" <<'JS'
async (a, t) => {
  const R = {};
  const u = await t.ua(a.ws, 'alice');
  const inv = u.req('INVITE', 'sip:bob@sipbridge.test', { body: t.sdp(40000) });
  if (a.mode === 'ringing') {
    R.ringing = !!await u.wait(m => m.status === 180, 10000);
    R.kill_at = Date.now() / 1000;
    u.close();
    return R;
  }
  const ok = await u.wait(m => m.status >= 200 && m.cseq().method === 'INVITE', 10000);
  R.answer = ok && ok.status;
  if (!ok || ok.status !== 200) return R;
  const d = u.dialogAsCaller(inv, ok);
  u.inDialog(d, 'ACK', { cseq: inv.cseq, noContact: true });
  if (a.mode === 'remote-bye') {
    const bye = await u.wait(m => m.method === 'BYE', 15000);
    R.bye = !!bye;
    if (bye) u.reply(bye, 200, 'OK');
    await t.sleep(500);
    R.idle = await t.idle(8000);
    u.close();
    return R;
  }
  await t.sleep(1000);
  R.kill_at = Date.now() / 1000;
  if (a.mode === 'kill') u.terminate(); else u.close();
  await t.sleep(200);
  return R;
}
JS

# ---- A: answered call, WebSocket killed
sb_sipp uasA -sf "$SB_SIPP_DIR/uas_answer.xml" -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MEDIA" -m 1 -set pt 0 -set codec PCMU
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp did not listen"
sb_sig a 30 "$SB_WORK/call.js" '{"mode":"kill"}'
sb_expect_json "A: call answered" "$SB_WORK/a.json" 'r.answer === 200'
sb_wait uasA 10
sb_expect_eq "A: UAS got BYE and answered it (sipp exit)" 0 $?
# the peer kills the socket 1 s after its ACK
ack_at=$(msg_time "$SB_WORK/uasA.msg" '^ACK ')
bye_at=$(msg_time "$SB_WORK/uasA.msg" '^BYE ')
delay=$(awk -v a="$ack_at" -v b="$bye_at" 'BEGIN { if (a == "" || b == "") print ""; else printf "%.3f", b - a - 1 }')
sb_expect_near "A: BYE reached SIP within 1 s of the WebSocket dying (s)" 0.5 "$delay" 0.5
sb_check "A: the BYE says why (Reason: WebSocket closed)" grep -q 'Reason: SIP;cause=480;text="WebSocket closed"' "$SB_WORK/uasA.msg"
sb_expect_idle 10

# ---- B: ringing call, WebSocket closed
sb_sipp uasB -sf "$SB_SIPP_DIR/sig_uas_ring.xml" -p "$UAS_PORT" -m 1
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp did not listen"
sb_sig b 30 "$SB_WORK/call.js" '{"mode":"ringing"}'
sb_expect_json "B: browser heard ringing" "$SB_WORK/b.json" 'r.ringing'
sb_wait uasB 10
sb_expect_eq "B: UAS got CANCEL, answered 487, got ACK (sipp exit)" 0 $?
# the peer closes as soon as it hears the 180
r_at=$(msg_time "$SB_WORK/uasB.msg" '^SIP/2.0 180')
can_at=$(msg_time "$SB_WORK/uasB.msg" '^CANCEL ')
delay=$(awk -v a="$r_at" -v b="$can_at" 'BEGIN { if (a == "" || b == "") print ""; else printf "%.3f", b - a }')
sb_expect_near "B: CANCEL within 1 s (s)" 0.5 "$delay" 0.5
sb_expect_idle 10

# ---- C: the SIP side hangs up
sb_sipp uasC -sf "$SB_SIPP_DIR/uas_answer_bye.xml" -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MEDIA" -m 1 -set pt 0 -set codec PCMU -d 1500
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp did not listen"
sb_sig c 30 "$SB_WORK/call.js" '{"mode":"remote-bye"}'
sb_expect_json "C: call answered" "$SB_WORK/c.json" 'r.answer === 200'
sb_expect_json "C: the SIP side's BYE reached the browser" "$SB_WORK/c.json" 'r.bye'
sb_wait uasC 10
sb_expect_eq "C: UAS got 200 for its BYE (sipp exit)" 0 $?
sb_expect_json "C: no orphans" "$SB_WORK/c.json" 'r.idle && r.idle.calls === 0 && r.idle.transactions === 0'

# ---- D: clean close mid-call
sb_sipp uasD -sf "$SB_SIPP_DIR/uas_answer.xml" -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MEDIA" -m 1 -set pt 0 -set codec PCMU
sb_wait_port udp "$UAS_PORT" 5 || sb_die "sipp did not listen"
sb_sig d 30 "$SB_WORK/call.js" '{"mode":"close"}'
sb_wait uasD 10
sb_expect_eq "D: UAS got BYE after a clean WebSocket close (sipp exit)" 0 $?
ack_at=$(msg_time "$SB_WORK/uasD.msg" '^ACK ')
bye_at=$(msg_time "$SB_WORK/uasD.msg" '^BYE ')
delay=$(awk -v a="$ack_at" -v b="$bye_at" 'BEGIN { if (a == "" || b == "") print ""; else printf "%.3f", b - a - 1 }')
sb_expect_near "D: BYE within 1 s (s)" 0.5 "$delay" 0.5
sb_expect_idle 10

# ---- E/F: the browser is the callee (a phone called it); its WebSocket
# dies after answering (E: the phone gets BYE) or while ringing (F: the
# phone gets a final 480)
sb_free_port PEER_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$PEER_PORT"
sb_stop sipbridge 5
sb_daemon_start
cat >"$SB_WORK/callee.js" <<'JS'
async (a, t) => {
  const R = {};
  const p = await t.udp(a.peer, 'phone');
  for (const mode of ['answered', 'ringing']) {
    const w = await t.ua(a.ws, 'alice');
    w.req('REGISTER', 'sip:sipbridge.test', { to: '<sip:alice@sipbridge.test>', from: '<sip:alice@sipbridge.test>', headers: ['Expires: 600'] });
    const regIn = await p.wait(m => m.method === 'REGISTER');
    if (!regIn) return R;
    const alias = (/<([^>]+)>/.exec(regIn.h('contact')) || [])[1];
    p.reply(regIn, 200, 'OK', { toTag: 'r1', headers: [`Contact: <${alias}>;expires=600`] });
    await w.wait(m => m.status);
    const c = p.req('INVITE', alias, { body: t.rtpSdp(6000) });
    const inv = await w.wait(m => m.method === 'INVITE', 10000);
    if (!inv) return R;
    const x = {};
    if (mode === 'answered') {
      w.reply(inv, 200, 'OK', { toTag: 'w5', body: t.sdp(40000) });
      const ok = await p.wait(m => m.status === 200 && m.h('call-id') === c.callId, 10000);
      if (ok) p.inDialog(p.dialogAsCaller(c, ok), 'ACK', { cseq: 1, noContact: true });
      await w.wait(m => m.method === 'ACK', 5000);
      await t.sleep(300);
      const t0 = Date.now();
      w.terminate();
      const bye = await p.wait(m => m.method === 'BYE' && m.h('call-id') === c.callId, 5000);
      x.bye_ms = bye && Date.now() - t0;
      x.bye_from_tag_ok = bye && bye.tag('from') === 'w5' && bye.tag('to') === c.fromTag;
      x.bye_reason = bye && bye.h('reason');
      if (bye) p.reply(bye, 200, 'OK');
    } else {
      w.reply(inv, 180, 'Ringing', { toTag: 'w6' });
      await p.wait(m => m.status === 180 && m.h('call-id') === c.callId, 5000);
      const t0 = Date.now();
      w.terminate();
      const fin = await p.wait(m => m.status >= 200 && m.h('call-id') === c.callId, 5000);
      x.final = fin && fin.status;
      x.final_ms = fin && Date.now() - t0;
    }
    R[mode] = x;
    R['idle_' + mode] = await t.idle(8000);
  }
  p.close();
  return R;
}
JS
sb_sig e 40 "$SB_WORK/callee.js" "{\"peer\":$PEER_PORT,\"timeout\":38}"
J=$SB_WORK/e.json
sb_expect_json "E: browser (callee) gone after answering: the phone gets BYE within 1 s" "$J" 'r.answered && r.answered.bye_ms !== null && r.answered.bye_ms < 1000'
sb_expect_json "E: that BYE is in the phone's dialog (tags swapped right) with a Reason" "$J" 'r.answered && r.answered.bye_from_tag_ok && /WebSocket closed/.test(r.answered.bye_reason)'
sb_expect_json "E: no orphans" "$J" 'r.idle_answered && r.idle_answered.calls === 0 && r.idle_answered.transactions === 0'
sb_expect_json "F: browser (callee) gone while ringing: the phone gets 480 within 1 s" "$J" 'r.ringing && r.ringing.final === 480 && r.ringing.final_ms < 1000'
sb_expect_json "F: no orphans" "$J" 'r.idle_ringing && r.idle_ringing.calls === 0 && r.idle_ringing.transactions === 0'

sb_check "daemon still running" sb_alive sipbridge
sb_stop sipbridge 5
sb_expect_eq "daemon exit status after SIGTERM" 0 $?
sb_check_sanitizers
sb_finish
