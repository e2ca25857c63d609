// Every SIP method through the proxy, both ways, inside and outside a
// dialog (driven by t_sig_methods.sh). `w` is the browser (WebSocket),
// `p` the trunk/phone (UDP, the outbound proxy). Each step records
// whether the request arrived, whether bodies and auth headers came
// through byte for byte, and the status the sender got back.
async (a, t) => {
  const R = { steps: {} };
  const S = (k, v) => { R.steps[k] = v; };
  // every URI the gateway gives the SIP side to send to (Path, the
  // Contact alias, Record-Route entries not facing the WebSocket)
  const adv = [];
  const advertised = (...vals) => { for (const v of vals) for (const u of (v || '').match(/<[^>]+>/g) || [v || ''])
    if (u && !/transport=ws/.test(u)) adv.push(u.replace(/^<|>$/g, '')); };
  const w = await t.ua(a.ws, 'alice');
  const p = await t.udp(a.uas, 'phone');
  const auth = 'Digest username="alice", realm="sipbridge.test", nonce="abc123", uri="sip:sipbridge.test", response="0123456789abcdef0123456789abcdef", algorithm=MD5';

  // ---- REGISTER (Authorization untouched; Path + alias added)
  const reg = w.req('REGISTER', 'sip:sipbridge.test', { to: '<sip:alice@sipbridge.test>', from: '<sip:alice@sipbridge.test>',
    headers: ['Expires: 600', 'Authorization: ' + auth] });
  const regIn = await p.wait(m => m.method === 'REGISTER');
  const alias = regIn && (/<([^>]+)>/.exec(regIn.h('contact')) || [])[1];
  const path = regIn && regIn.h('path');
  if (regIn) p.reply(regIn, 200, 'OK', { toTag: 'r1', headers: [`Contact: <${alias}>;expires=600`, 'Path: ' + path] });
  advertised(path, alias);
  const regOk = await w.wait(m => m.status && m.h('call-id') === reg.callId);
  S('REGISTER', { arrived: !!regIn, auth: regIn && regIn.h('authorization') === auth, path: !!path, alias,
    status: regOk && regOk.status, contact_restored: regOk && /\.invalid/.test(regOk.h('contact') || '') });

  // ---- out of dialog, browser -> SIP: OPTIONS, MESSAGE (Proxy-Authorization + body)
  const o1 = w.req('OPTIONS', 'sip:bob@sipbridge.test', { headers: ['Accept: application/sdp'] });
  const o1In = await p.wait(m => m.method === 'OPTIONS');
  if (o1In) p.reply(o1In, 200, 'OK', { toTag: 'o1', headers: ['Allow: INVITE, ACK, BYE'] });
  const o1r = await w.wait(m => m.status && m.h('call-id') === o1.callId);
  S('OPTIONS ws->sip', { arrived: !!o1In, status: o1r && o1r.status });

  const text = 'Hello Bob: ünïcode, CRLF\r\nsecond line;\tTAB\r\n';
  const m1 = w.req('MESSAGE', 'sip:bob@sipbridge.test', { body: text, ctype: 'text/plain;charset=UTF-8', headers: ['Proxy-Authorization: ' + auth] });
  const m1In = await p.wait(m => m.method === 'MESSAGE');
  if (m1In) p.reply(m1In, 202, 'Accepted', { toTag: 'm1' });
  const m1r = await w.wait(m => m.status && m.h('call-id') === m1.callId);
  S('MESSAGE ws->sip', { arrived: !!m1In, body: m1In && m1In.body === text, auth: m1In && m1In.h('proxy-authorization') === auth,
    ctype: m1In && m1In.h('content-type'), status: m1r && m1r.status });

  // ---- SUBSCRIBE from the browser, NOTIFY back in its dialog
  const sub = w.req('SUBSCRIBE', 'sip:bob@sipbridge.test', { headers: ['Event: presence', 'Expires: 60', 'Accept: application/pidf+xml'] });
  const subIn = await p.wait(m => m.method === 'SUBSCRIBE');
  if (subIn) p.reply(subIn, 200, 'OK', { toTag: 's1', headers: ['Expires: 60'] });
  const subr = await w.wait(m => m.status && m.h('call-id') === sub.callId);
  S('SUBSCRIBE ws->sip', { arrived: !!subIn, rr: subIn && subIn.hs('record-route').length, status: subr && subr.status });
  advertised(...(subIn ? subIn.hs('record-route') : []));
  if (subIn) {
    const pd = p.dialogAsCallee(subIn, 's1');
    const pidf = '<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@sipbridge.test"><tuple id="t"><status><basic>open</basic></status></tuple></presence>';
    const n = p.inDialog(pd, 'NOTIFY', { body: pidf, ctype: 'application/pidf+xml', headers: ['Event: presence', 'Subscription-State: active;expires=60'] });
    const nIn = await w.wait(m => m.method === 'NOTIFY');
    if (nIn) w.reply(nIn, 200, 'OK');
    const nr = await p.wait(m => m.status && m.h('call-id') === n.callId && m.cseq().method === 'NOTIFY');
    S('NOTIFY sip->ws (in dialog)', { arrived: !!nIn, body: nIn && nIn.body === pidf, event: nIn && nIn.h('event'), status: nr && nr.status });
  }

  // ---- INVITE from the browser (offer), 200 from SIP, ACK
  const inv = w.req('INVITE', 'sip:bob@sipbridge.test', { body: t.sdp(40000) });
  const invIn = await p.wait(m => m.method === 'INVITE');
  if (!invIn) { S('INVITE ws->sip', { arrived: false }); return R; }
  advertised(...invIn.hs('record-route'));
  p.reply(invIn, 200, 'OK', { toTag: 'c1', body: t.rtpSdp(6000) });
  const ok = await w.wait(m => m.status >= 200 && m.h('call-id') === inv.callId && m.cseq().method === 'INVITE');
  S('INVITE ws->sip', { arrived: true, plain_rtp_offer: /RTP\/AVP/.test(invIn.body) && !/ice-ufrag/.test(invIn.body),
    status: ok && ok.status, webrtc_answer: ok && /UDP\/TLS\/RTP\/SAVPF/.test(ok.body) && /fingerprint/.test(ok.body) });
  const wd = w.dialogAsCaller(inv, ok);
  w.inDialog(wd, 'ACK', { cseq: inv.cseq, noContact: true });
  const ackIn = await p.wait(m => m.method === 'ACK');
  S('ACK ws->sip (2xx)', { arrived: !!ackIn });
  const pd = p.dialogAsCallee(invIn, 'c1');

  // in-dialog, browser -> SIP
  const dtmf = 'Signal=5\r\nDuration=160\r\n';
  for (const [method, o, st] of [
    ['INFO', { body: dtmf, ctype: 'application/dtmf-relay' }, 200],
    ['MESSAGE', { body: 'in dialog', ctype: 'text/plain' }, 200],
    ['UPDATE', {}, 200],
    ['OPTIONS', {}, 200],
    ['REFER', { headers: ['Refer-To: <sip:carol@sipbridge.test>', 'Referred-By: <sip:alice@sipbridge.test>'] }, 202],
  ]) {
    const r = w.inDialog(wd, method, o);
    const inn = await p.wait(m => m.method === method && m.h('call-id') === inv.callId);
    if (inn) p.reply(inn, st, st === 202 ? 'Accepted' : 'OK');
    const rr = await w.wait(m => m.status && m.h('call-id') === inv.callId && m.cseq().method === method);
    S(method + ' ws->sip (in dialog)', { arrived: !!inn, body: !o.body || (inn && inn.body === o.body),
      hdrs: !o.headers || (inn && o.headers.every(h => inn.raw.includes(h))), status: rr && rr.status });
  }
  // NOTIFY for the REFER (sipfrag), SIP -> browser in the call's dialog
  {
    const frag = 'SIP/2.0 200 OK\r\n';
    const n = p.inDialog(pd, 'NOTIFY', { body: frag, ctype: 'message/sipfrag;version=2.0', headers: ['Event: refer', 'Subscription-State: terminated;reason=noresource'] });
    const nIn = await w.wait(m => m.method === 'NOTIFY' && m.h('call-id') === inv.callId);
    if (nIn) w.reply(nIn, 200, 'OK');
    const nr = await p.wait(m => m.status && m.h('call-id') === inv.callId && m.cseq().method === 'NOTIFY');
    S('NOTIFY sip->ws (refer)', { arrived: !!nIn, body: nIn && nIn.body === frag, status: nr && nr.status });
  }
  // re-INVITE from the browser (new offer)
  {
    const r = w.inDialog(wd, 'INVITE', { body: t.sdp(40000, 'sendonly') });
    const inn = await p.wait(m => m.method === 'INVITE' && m.h('call-id') === inv.callId && m.tag('to'));
    if (inn) p.reply(inn, 200, 'OK', { body: t.rtpSdp(6000, 'recvonly') });
    const rr = await w.wait(m => m.status >= 200 && m.h('call-id') === inv.callId && m.cseq().method === 'INVITE' && m.cseq().n === r.cseq);
    if (rr) w.inDialog(wd, 'ACK', { cseq: r.cseq, noContact: true });
    const ack = await p.wait(m => m.method === 'ACK' && m.cseq().n === r.cseq);
    S('re-INVITE ws->sip', { arrived: !!inn, hold: inn && /a=sendonly/.test(inn.body), status: rr && rr.status,
      answer: rr && /a=recvonly/.test(rr.body), ack: !!ack });
  }
  // in-dialog, SIP -> browser
  for (const [method, o] of [
    ['INFO', { body: dtmf, ctype: 'application/dtmf-relay' }],
    ['MESSAGE', { body: 'from the phone', ctype: 'text/plain' }],
    ['UPDATE', {}],
    ['OPTIONS', {}],
  ]) {
    const r = p.inDialog(pd, method, o);
    const inn = await w.wait(m => m.method === method && m.h('call-id') === inv.callId);
    if (inn) w.reply(inn, 200, 'OK');
    const rr = await p.wait(m => m.status && m.h('call-id') === inv.callId && m.cseq().method === method && m.cseq().n === r.cseq);
    S(method + ' sip->ws (in dialog)', { arrived: !!inn, body: !o.body || (inn && inn.body === o.body), status: rr && rr.status });
  }
  // re-INVITE from SIP (new offer: hold)
  {
    const r = p.inDialog(pd, 'INVITE', { body: t.rtpSdp(6000, 'sendonly') });
    const inn = await w.wait(m => m.method === 'INVITE' && m.h('call-id') === inv.callId);
    if (inn) w.reply(inn, 200, 'OK', { body: t.sdp(40000, 'recvonly') });
    const rr = await p.wait(m => m.status >= 200 && m.h('call-id') === inv.callId && m.cseq().method === 'INVITE' && m.cseq().n === r.cseq);
    if (rr) p.inDialog(pd, 'ACK', { cseq: r.cseq, noContact: true });
    const ack = await w.wait(m => m.method === 'ACK' && m.h('call-id') === inv.callId && m.cseq().n === r.cseq);
    S('re-INVITE sip->ws', { arrived: !!inn, webrtc_offer: inn && /UDP\/TLS\/RTP\/SAVPF/.test(inn.body), hold: inn && /a=sendonly/.test(inn.body),
      status: rr && rr.status, plain_answer: rr && /RTP\/AVP/.test(rr.body) && /a=recvonly/.test(rr.body), ack: !!ack });
  }
  // BYE from the browser
  {
    const r = w.inDialog(wd, 'BYE');
    const inn = await p.wait(m => m.method === 'BYE');
    if (inn) p.reply(inn, 200, 'OK');
    const rr = await w.wait(m => m.status && m.h('call-id') === inv.callId && m.cseq().method === 'BYE');
    S('BYE ws->sip', { arrived: !!inn, status: rr && rr.status });
  }

  // ---- call 2: SIP -> browser via the alias, reliable 183 + PRACK from the browser's side? No:
  // the phone calls, the browser sends 183 with 100rel, the phone PRACKs.
  {
    const c = p.req('INVITE', alias, { route: [path], body: t.rtpSdp(6002), headers: ['Supported: 100rel'] });
    const inn = await w.wait(m => m.method === 'INVITE' && m.h('call-id') === c.callId);
    S('INVITE sip->ws (alias + Path)', { arrived: !!inn, ruri_restored: inn && /\.invalid/.test(inn.ruri), webrtc_offer: inn && /ice-ufrag/.test(inn.body) });
    if (inn) {
      w.reply(inn, 183, 'Session Progress', { toTag: 'w2', headers: ['Require: 100rel', 'RSeq: 1'], body: t.sdp(40002) });
      const p183 = await p.wait(m => m.status === 183 && m.h('call-id') === c.callId, 10000);
      const cd = p183 && p.dialogAsCaller(c, p183);
      let prIn = null, pr200 = null;
      if (cd) {
        p.inDialog(cd, 'PRACK', { headers: [`RAck: 1 ${c.cseq} INVITE`] });
        prIn = await w.wait(m => m.method === 'PRACK' && m.h('call-id') === c.callId);
        if (prIn) w.reply(prIn, 200, 'OK');
        pr200 = await p.wait(m => m.status === 200 && m.h('call-id') === c.callId && m.cseq().method === 'PRACK');
      }
      S('183 100rel + PRACK sip->ws', { got183: !!p183, sdp183: p183 && /RTP\/AVP/.test(p183.body), rseq: p183 && p183.h('rseq'),
        prack: !!prIn, rack: prIn && prIn.h('rack'), status: pr200 && pr200.status });
      w.reply(inn, 200, 'OK', { toTag: 'w2', body: t.sdp(40002) });
      const ok2 = await p.wait(m => m.status === 200 && m.h('call-id') === c.callId && m.cseq().method === 'INVITE', 10000);
      advertised(...(ok2 ? ok2.hs('record-route') : []));
      const cd2 = ok2 && p.dialogAsCaller(c, ok2);
      if (cd2) p.inDialog(cd2, 'ACK', { cseq: c.cseq, noContact: true });
      const ack = await w.wait(m => m.method === 'ACK' && m.h('call-id') === c.callId);
      S('INVITE sip->ws answered', { status: ok2 && ok2.status, ack: !!ack });
      if (cd2) {
        cd2.cseq = c.cseq + 5;
        p.inDialog(cd2, 'BYE');
        const b = await w.wait(m => m.method === 'BYE' && m.h('call-id') === c.callId);
        if (b) w.reply(b, 200, 'OK');
        const br = await p.wait(m => m.status && m.h('call-id') === c.callId && m.cseq().method === 'BYE');
        S('BYE sip->ws', { arrived: !!b, status: br && br.status });
      }
    }
  }
  // ---- out of dialog, SIP -> browser: MESSAGE and OPTIONS via the alias, SUBSCRIBE via Path
  for (const [method, o] of [
    ['MESSAGE', { body: 'page from the phone', ctype: 'text/plain' }],
    ['OPTIONS', {}],
    ['SUBSCRIBE', { headers: ['Event: dialog', 'Expires: 0'] }],
  ]) {
    const r = p.req(method, alias, Object.assign({ route: [path] }, o));
    const inn = await w.wait(m => m.method === method && m.h('call-id') === r.callId);
    if (inn) w.reply(inn, 200, 'OK', { toTag: 'x' + method.length });
    const rr = await p.wait(m => m.status && m.h('call-id') === r.callId);
    S(method + ' sip->ws (out of dialog)', { arrived: !!inn, body: !o.body || (inn && inn.body === o.body), status: rr && rr.status });
  }
  // ---- OPTIONS to the gateway itself
  {
    const r = p.req('OPTIONS', `sip:127.0.0.1:${a.sip}`, { to: `<sip:127.0.0.1:${a.sip}>` });
    const rr = await p.wait(m => m.status && m.h('call-id') === r.callId);
    S('OPTIONS to the gateway', { status: rr && rr.status, allow: rr && rr.h('allow') });
  }
  S('advertised', { uris: adv });
  await t.sleep(500);
  R.idle = await t.idle(10000);
  w.close(); p.close();
  return R;
}
