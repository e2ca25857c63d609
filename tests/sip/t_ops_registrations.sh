#!/bin/bash
# Operations: the browsers' registrations in GET /api/registrations and the
# sipbridge_registrations_active gauge, as scripted WebSocket peers register
# through the gateway to a scripted UDP registrar (tests/lib/sig_ws.js):
#   1. alice registers (Expires 600, the registrar grants expires=300 in its
#      Contact): one binding with her own Contact, our alias, the registrar,
#      her WebSocket's id and peer address, User-Agent, times; gauge 1;
#   2. bob registers on a second socket, the registrar's 2xx lists no
#      Contact (the request's Expires counts); dave gets 403 (not listed);
#   3. carol, on bob's socket, is granted 2 s: listed, then gone on expiry;
#   4. bob de-registers (Expires 0) and the 2xx lists only another device's
#      binding: his is gone, alice's stays;
#   5. alice's WebSocket closes: her binding is gone, gauge 0.
# With limits.ws_per_ip 2, a third WebSocket is refused; /metrics then
# counts 2 connections accepted, 1 refused (ws-per-ip), 5 REGISTER
# transactions browser -> SIP, 4 REGISTERs answered 2xx and 1 4xx.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node curl
sb_require_daemon
sb_init

sb_free_port REG_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$REG_PORT"
SB_CONF_EXTRA='limits: { ws_per_ip = 2; };'
sb_daemon_start

cat >"$SB_WORK/reg.js" <<'JS'
async (a, t) => {
  const R = {};
  const get = path => new Promise(res => {
    http.get(a.admin + path, r => {
      let d = ''; r.on('data', c => d += c); r.on('end', () => res({ status: r.statusCode, body: d }));
    }).on('error', e => res({ status: 0, body: String(e) }));
  });
  const snap = async () => {
    const x = await get('/api/registrations');
    const m = await get('/metrics');
    const g = /^sipbridge_registrations_active (\S+)$/m.exec(m.body);
    let j = null;
    try { j = JSON.parse(x.body); } catch (e) { j = { error: x.body }; }
    const series = {};
    for (const l of m.body.split('\n'))
      if (/^sipbridge_(transactions_total|registrations_total|websocket_)/.test(l)) series[l.split(' ')[0]] = +l.split(' ')[1];
    return { status: x.status, count: j.count, regs: j.registrations || [], gauge: g ? +g[1] : null, series, at: Date.now() };
  };
  const p = await t.udp(a.peer, 'registrar');
  // REGISTER user on socket w; the registrar answers status with headers(alias)
  const register = async (w, user, expires, status, headers) => {
    const r = w.req('REGISTER', 'sip:sipbridge.test', {
      to: `<sip:${user}@sipbridge.test>`, from: `<sip:${user}@sipbridge.test>`,
      headers: [`Expires: ${expires}`, `User-Agent: sigtest/1.0 (${user})`] });
    const m = await p.wait(x => x.method === 'REGISTER' && x.h('call-id') === r.callId);
    if (!m) return { error: 'no REGISTER at the registrar' };
    const alias = (/<([^>]+)>/.exec(m.h('contact') || '') || [])[1];
    p.reply(m, status, status === 200 ? 'OK' : 'Forbidden', { toTag: 'r' + user, headers: headers(alias) });
    const ok = await w.wait(x => x.status && x.h('call-id') === r.callId);
    return { alias, status: ok && ok.status, contact: w.contact.slice(1, -1), port: w.ws._socket.localPort };
  };
  const A = await t.ua(a.ws, 'alice');
  const B = await t.ua(a.ws, 'bob');
  R.third = await t.ua(a.ws, 'eve').then(u => { u.close(); return 'open'; }, e => 'refused');
  const before = Date.now();
  R.alice = await register(A, 'alice', 600, 200, al => [`Contact: <${al}>;expires=300`]);
  R.s1 = await snap();
  R.s1.before = before;
  R.bob = await register(B, 'bob', 600, 200, () => []);
  R.dave = await register(B, 'dave', 600, 403, () => []);
  R.s2 = await snap();
  R.carol = await register(B, 'carol', 600, 200, al => [`Contact: <${al}>;expires=2`]);
  R.s3 = await snap();
  await t.sleep(2600);
  R.s3b = await snap();
  R.unreg = await register(B, 'bob', 0, 200, () => ['Contact: <sip:bob@192.0.2.7:5060>;expires=100']);
  R.s4 = await snap();
  A.close();
  await A.closed(3000);
  await t.sleep(300);
  R.s5 = await snap();
  B.close();
  return R;
}
JS
sb_sig reg 40 "$SB_WORK/reg.js" "{\"peer\":$REG_PORT,\"admin\":\"http://127.0.0.1:$SB_ADMIN_PORT\",\"timeout\":35}"
J=$SB_WORK/reg.json
[ -s "$J" ] || sb_die "no result from the peers (see reg.log)"
sb_json "$J" 'JSON.stringify(r.s1.regs)' | sed 's/^/  s1: /'

e() { sb_expect_json "$1" "$J" "$2"; }
e "1: alice's REGISTER got 200" 'r.alice.status === 200 && /sbf=/.test(r.alice.alias)'
e "1: API 200, count 1, gauge 1" 'r.s1.status === 200 && r.s1.count === 1 && r.s1.regs.length === 1 && r.s1.gauge === 1'
x='r.s1.regs[0]'
e "1: aor is the To URI" "$x.aor === 'sip:alice@sipbridge.test'"
e "1: contact is the browser's own" "$x.contact === r.alice.contact"
e "1: registrar_contact is the alias the registrar got" "$x.registrar_contact === r.alice.alias"
e "1: registrar is the Request-URI" "$x.registrar === 'sip:sipbridge.test'"
e "1: source is the WebSocket's peer address" "$x.source === '127.0.0.1:' + r.alice.port"
e "1: connection_id set" "Number.isInteger($x.connection_id) && $x.connection_id > 0"
e "1: user agent" "$x.user_agent === 'sigtest/1.0 (alice)'"
e "1: expires_s is what the 2xx granted (300, not 600)" "$x.expires_s === 300 && $x.expires_in_s >= 298 && $x.expires_in_s <= 300"
e "1: registered_unix_ms is the time of the 2xx" "$x.registered_unix_ms >= r.s1.before - 1000 && $x.registered_unix_ms <= r.s1.at + 1000"
e "2: bob 200, dave 403" 'r.bob.status === 200 && r.dave.status === 403'
e "2: count 2, gauge 2; bob on another connection with the request's Expires (600); dave absent" \
	'r.s2.count === 2 && r.s2.gauge === 2 && r.s2.regs[1].aor === "sip:bob@sipbridge.test" && r.s2.regs[1].expires_s === 600 && r.s2.regs[1].connection_id !== r.s2.regs[0].connection_id && r.s2.regs[1].source === "127.0.0.1:" + r.bob.port && !r.s2.regs.some(g => /dave/.test(g.aor))'
e "3: carol listed with expires_s 2 on bob's connection" \
	'r.s3.count === 3 && r.s3.gauge === 3 && r.s3.regs[2].aor === "sip:carol@sipbridge.test" && r.s3.regs[2].expires_s === 2 && r.s3.regs[2].connection_id === r.s2.regs[1].connection_id'
e "3: carol gone after her 2 s expired (count 2, gauge 2)" \
	'r.s3b.count === 2 && r.s3b.gauge === 2 && !r.s3b.regs.some(g => /carol/.test(g.aor))'
e "4: bob's de-registration: only alice left (count 1, gauge 1)" \
	'r.unreg.status === 200 && r.s4.count === 1 && r.s4.gauge === 1 && r.s4.regs[0].aor === "sip:alice@sipbridge.test"'
e "5: alice's WebSocket closed: no registrations (count 0, gauge 0)" \
	'r.s5.status === 200 && r.s5.count === 0 && r.s5.regs.length === 0 && r.s5.gauge === 0'
m() { sb_json "$J" "String(r.s5.series['$1'])"; }
sb_expect_eq "a third WebSocket from the same address is refused (ws_per_ip 2)" refused "$(sb_json "$J" r.third)"
sb_expect_eq "metric websocket_connections_total" 2 "$(m sipbridge_websocket_connections_total)"
sb_expect_eq "metric websocket_refused_total{reason=ws-per-ip}" 1 "$(m 'sipbridge_websocket_refused_total{reason="ws-per-ip"}')"
sb_expect_eq "metric transactions_total{direction=ws_to_sip} (5 REGISTERs)" 5 "$(m 'sipbridge_transactions_total{direction="ws_to_sip"}')"
sb_expect_eq "metric registrations_total{status_class=2xx}" 4 "$(m 'sipbridge_registrations_total{status_class="2xx"}')"
sb_expect_eq "metric registrations_total{status_class=4xx} (dave's 403)" 1 "$(m 'sipbridge_registrations_total{status_class="4xx"}')"
sb_expect_idle 5
sb_stop sipbridge 5
sb_check_sanitizers
sb_finish
