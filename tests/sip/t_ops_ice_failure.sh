#!/bin/bash
# Operations: a WebRTC leg whose ICE never connects is counted in
# sipbridge_ice_failures_total{reason="checks_failed"} (and not as a DTLS
# failure), and the call ends with a BYE both ways naming ICE.
# A scripted WebSocket peer plays the browser: its SDP offers a host
# candidate where nothing answers STUN; a scripted UDP peer answers the
# INVITE with PCMA only, so while the call lasts it is transcoded and
# sipbridge_transcoding_sessions shows the codec pair.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node curl
sb_require_daemon
sb_init

sb_free_port UAS_PORT; sb_free_port DEAD_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UAS_PORT"
sb_daemon_start

cat >"$SB_WORK/ice.js" <<'JS'
async (a, t) => {
  const R = {};
  const get = path => new Promise(res => {
    http.get(a.admin + path, r => {
      let d = ''; r.on('data', c => d += c); r.on('end', () => res({ status: r.statusCode, body: d }));
    }).on('error', e => res({ status: 0, body: String(e) }));
  });
  const metrics = async () => {
    const m = await get('/metrics');
    const out = {};
    for (const l of m.body.split('\n'))
      if (/^sipbridge_((ice|dtls)_failures_total|transcoding_sessions)/.test(l)) out[l.split(' ')[0]] = +l.split(' ')[1];
    return out;
  };
  const p = await t.udp(a.uas, 'phone');
  const u = await t.ua(a.ws, 'alice');
  R.before = await metrics();
  const inv = u.req('INVITE', 'sip:bob@sipbridge.test', { body: t.sdp(a.dead) });
  const inIn = await p.wait(m => m.method === 'INVITE', 10000);
  if (!inIn) return R;
  R.sip_offer_pcma = /a=rtpmap:8 PCMA\/8000/.test(inIn.body);
  // answer PCMA only: the browser offered opus and PCMU, so the gateway
  // transcodes while the call lasts
  const pcma = ['v=0', `o=phone ${Date.now()} 1 IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${a.dead + 1} RTP/AVP 8`, 'a=rtpmap:8 PCMA/8000', 'a=sendrecv', ''].join('\n');
  p.reply(inIn, 200, 'OK', { toTag: 'p1', body: pcma });
  const ok = await u.wait(m => m.status === 200 && m.cseq().method === 'INVITE', 10000);
  R.answer = ok && ok.status;
  if (!ok) return R;
  u.inDialog(u.dialogAsCaller(inv, ok), 'ACK', { cseq: inv.cseq, noContact: true });
  const ack = await p.wait(m => m.method === 'ACK', 5000);
  await t.sleep(1500);
  const m1 = await get('/metrics');
  R.xcode = m1.body.split('\n').filter(l => /^sipbridge_transcoding_sessions\{/.test(l));
  const calls = JSON.parse((await get('/api/calls')).body);
  R.call = calls.calls && calls.calls[0];
  R.t0 = Date.now();
  const bye = await u.wait(m => m.method === 'BYE', 35000);
  R.bye_s = bye && (Date.now() - R.t0) / 1000;
  R.bye_reason = bye && bye.h('reason');
  if (bye) u.reply(bye, 200, 'OK');
  const pbye = await p.wait(m => m.method === 'BYE', 5000);
  if (pbye) p.reply(pbye, 200, 'OK');
  R.sip_bye = !!pbye;
  await t.sleep(500);
  R.after = await metrics();
  R.idle = await t.idle(5000);
  u.close();
  return R;
}
JS
sb_sig ice 48 "$SB_WORK/ice.js" "{\"uas\":$UAS_PORT,\"dead\":$DEAD_PORT,\"admin\":\"http://127.0.0.1:$SB_ADMIN_PORT\",\"timeout\":45}"
J=$SB_WORK/ice.json
[ -s "$J" ] || sb_die "no result from the peers (see ice.log)"
echo "  result: $(head -c 600 "$J")"
e() { sb_expect_json "$1" "$J" "$2"; }
e "call answered" 'r.answer === 200'
e "the gateway offered PCMA to SIP" 'r.sip_offer_pcma'
e "the API shows the call transcoded, PCMA on the SIP leg" 'r.call && r.call.transcoded === true && r.call.codecs.sip === "PCMA/8000"'
e "transcoding_sessions has exactly that pair (opus, the browser's first choice), 1 session" \
	'r.xcode.length === 1 && r.xcode[0] === "sipbridge_transcoding_sessions{codec_a=\"opus\",codec_b=\"pcma\"} 1"'
e "after the call no transcoding session is left" '!Object.keys(r.after).some(k => /transcoding/.test(k))'
e "no ICE failure counted before" 'Object.keys(r.before).length === 0 || Object.values(r.before).every(v => v === 0)'
e "the browser gets a BYE naming ICE" 'r.bye_s > 0 && /ICE failed/.test(r.bye_reason || "")'
e "the SIP side gets a BYE" 'r.sip_bye'
e 'ice_failures_total{reason="checks_failed"} is 1' 'r.after["sipbridge_ice_failures_total{reason=\"checks_failed\"}"] === 1'
e "no DTLS failure counted" '!Object.keys(r.after).some(k => /dtls/.test(k) && r.after[k] > 0)'
e "no orphans" 'r.idle && r.idle.calls === 0 && r.idle.transactions === 0'
sb_stop sipbridge 5
sb_check_sanitizers
sb_finish
