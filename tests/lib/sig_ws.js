#!/usr/bin/env node
// A scripted SIP-over-WebSocket peer for signalling tests (no browser, no
// media): it plays a browser's part message by message so that tests can
// check exactly what crosses the gateway.
//   node sig_ws.js --out R.json [--arg JSON] SCRIPT.js
// SCRIPT.js holds one async function `async (a, t) => result`; `a` is the
// parsed --arg, `t` the toolkit below. The result (or {error}) is written to
// --out as JSON and every message sent/received is logged on stdout as
//   >>> / <<< lines (first line only) so a test can follow progress.
// Toolkit:
//   const u = await t.ua(url, user)        open a WebSocket (subprotocol sip)
//   u.send(text)                            send; \n -> \r\n, Content-Length filled in
//   u.req(method, ruri, o)                  build and send a request, returns its fields
//      o: { callId, fromTag, toTag, cseq, branch, headers: [..], body, ctype, from, to, route }
//   u.reply(msg, status, reason, o)         answer a received request (Via/From/To/Call-ID/CSeq/
//                                           Record-Route copied), o: { toTag, headers, body, ctype }
//   await u.wait(pred, ms)                  next received message (not yet consumed) matching pred
//   await u.closed(ms)                      wait for the socket to close; u.close() closes it
//   t.sdp(port)                             a WebRTC-looking audio offer/answer (Opus+PCMU)
//   t.sleep(ms), t.health()                 GET /health of the gateway (a.http) as an object
// A parsed message: { raw, first, method, status, reason, ruri, body, h(name) -> first value,
//   hs(name) -> all values, tag(name) -> the tag param of From/To }.
'use strict';
const fs = require('fs');
const http = require('http');
const crypto = require('crypto');
const WebSocket = require('ws');

const argv = process.argv.slice(2);
let out = null, arg = {}, script = null;
while (argv.length) {
  const k = argv.shift();
  if (k === '--out') out = argv.shift();
  else if (k === '--arg') arg = JSON.parse(argv.shift());
  else script = k;
}
const rnd = n => crypto.randomBytes(n).toString('hex');
const sleep = ms => new Promise(r => setTimeout(r, ms));
const ts = () => new Date().toISOString().slice(11, 23);

function parse(raw) {
  const i = raw.indexOf('\r\n\r\n');
  const head = i < 0 ? raw : raw.slice(0, i);
  const body = i < 0 ? '' : raw.slice(i + 4);
  const lines = head.split('\r\n');
  const first = lines.shift();
  const hdrs = [];
  const compact = { v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type' };
  for (const l of lines) {
    const c = l.indexOf(':');
    if (c < 0) continue;
    let n = l.slice(0, c).trim().toLowerCase();
    n = compact[n] || n;
    hdrs.push([n, l.slice(c + 1).trim()]);
  }
  const m = { raw, first, body, headers: hdrs };
  const rq = /^([A-Z]+) (\S+) SIP\/2\.0$/.exec(first);
  const rs = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(first);
  if (rq) { m.method = rq[1]; m.ruri = rq[2]; }
  if (rs) { m.status = +rs[1]; m.reason = rs[2]; }
  m.hs = n => hdrs.filter(h => h[0] === n.toLowerCase()).map(h => h[1]);
  m.h = n => m.hs(n)[0];
  m.tag = n => { const v = m.h(n) || ''; const x = /;\s*tag=([^;>\s]+)/.exec(v.replace(/<[^>]*>/, '')); return x ? x[1] : null; };
  m.cseq = () => { const x = /^(\d+)\s+(\S+)/.exec(m.h('cseq') || ''); return x ? { n: +x[1], method: x[2] } : {}; };
  return m;
}

function finish(text) {
  // \n -> \r\n, then fix Content-Length to the body's byte length
  let s = text.replace(/\r\n/g, '\n').replace(/\n/g, '\r\n');
  const i = s.indexOf('\r\n\r\n');
  const head = i < 0 ? s.replace(/(\r\n)*$/, '') : s.slice(0, i);
  const body = i < 0 ? '' : s.slice(i + 4);
  const h = head.split('\r\n').filter(l => !/^content-length\s*:/i.test(l));
  h.push('Content-Length: ' + Buffer.byteLength(body));
  return h.join('\r\n') + '\r\n\r\n' + body;
}

function ua(url, user = 'alice') {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['sip']);
    const u = { ws, user, q: [], waiters: [], log: [], isClosed: false, host: rnd(4) + '.invalid' };
    u.contact = `<sip:${user}@${u.host};transport=ws>`;
    const pump = () => {
      for (const w of u.waiters.slice()) {
        const k = u.q.findIndex(w.pred);
        if (k >= 0) { const [m] = u.q.splice(k, 1); u.waiters.splice(u.waiters.indexOf(w), 1); clearTimeout(w.tm); w.resolve(m); }
      }
    };
    ws.on('message', d => {
      const m = parse(d.toString());
      console.log(`${ts()} <<< ${user}: ${m.first}`);
      u.log.push('<<< ' + m.first);
      u.q.push(m); pump();
    });
    ws.on('close', () => { u.isClosed = true; console.log(`${ts()} --- ${user}: closed`); for (const w of u.waiters.slice()) if (w.onClose) { w.onClose(); } });
    ws.on('error', e => { console.log(`${ts()} --- ${user}: error ${e.message}`); reject(e); });
    ws.on('open', () => resolve(u));
    u.send = text => {
      const s = finish(text);
      console.log(`${ts()} >>> ${user}: ${s.slice(0, s.indexOf('\r\n'))}`);
      u.log.push('>>> ' + s.slice(0, s.indexOf('\r\n')));
      ws.send(s);
      return s;
    };
    u.wait = (pred, ms = 10000) => new Promise(res => {
      const w = { pred, resolve: res };
      w.tm = setTimeout(() => { u.waiters.splice(u.waiters.indexOf(w), 1); res(null); }, ms);
      u.waiters.push(w); pump();
    });
    u.closed = (ms = 5000) => new Promise(res => {
      if (u.isClosed) return res(true);
      const tm = setTimeout(() => res(false), ms);
      ws.on('close', () => { clearTimeout(tm); res(true); });
    });
    u.close = () => ws.close(1000);
    u.terminate = () => ws.terminate();
    u.req = (method, ruri, o = {}) => {
      const r = {
        method, ruri,
        callId: o.callId || rnd(8), fromTag: o.fromTag || rnd(4), toTag: o.toTag || null,
        cseq: o.cseq || 1, branch: o.branch || 'z9hG4bK' + rnd(6),
      };
      const from = o.from || `<sip:${user}@sipbridge.test>`;
      const to = o.to || `<${ruri.replace(/;.*$/, '')}>`;
      const lines = [
        `${method} ${ruri} SIP/2.0`,
        `Via: SIP/2.0/WS ${u.host};branch=${r.branch}`,
        'Max-Forwards: 70',
        ...(o.route || []).map(x => 'Route: ' + x),
        `From: ${from};tag=${r.fromTag}`,
        `To: ${to}${r.toTag ? ';tag=' + r.toTag : ''}`,
        `Call-ID: ${r.callId}`,
        `CSeq: ${r.cseq} ${o.cseqMethod || method}`,
        ...(o.noContact ? [] : [`Contact: ${u.contact}`]),
        ...(o.headers || []),
      ];
      if (o.body) lines.push(`Content-Type: ${o.ctype || 'application/sdp'}`);
      r.text = u.send(lines.join('\n') + '\n\n' + (o.body || ''));
      return r;
    };
    // Dialog state from our INVITE (r, what u.req returned) and its 2xx,
    // or from a received INVITE (m) and our To tag: target, route set, tags.
    u.dialogAsCaller = (r, resp) => ({
      callId: r.callId, localTag: r.fromTag, remoteTag: resp.tag('to'), cseq: r.cseq,
      local: `<sip:${user}@sipbridge.test>`, remote: resp.h('to').replace(/;tag=.*$/, ''),
      target: (/<([^>]+)>/.exec(resp.h('contact') || '') || [])[1],
      routes: resp.hs('record-route').flatMap(v => v.split(/,(?=\s*<)/)).map(x => x.trim()).reverse(),
    });
    u.dialogAsCallee = (m, toTag) => ({
      callId: m.h('call-id'), localTag: toTag, remoteTag: m.tag('from'), cseq: 1000,
      local: m.h('to').replace(/;tag=.*$/, ''), remote: m.h('from').replace(/;tag=.*$/, ''),
      target: (/<([^>]+)>/.exec(m.h('contact') || '') || [])[1],
      routes: m.hs('record-route').flatMap(v => v.split(/,(?=\s*<)/)).map(x => x.trim()),
    });
    // Send a request inside dialog d (ACK reuses the INVITE's CSeq number).
    u.inDialog = (d, method, o = {}) => {
      if (method !== 'ACK' && !o.cseq) d.cseq++;
      return u.req(method, d.target, Object.assign({
        callId: d.callId, fromTag: d.localTag, toTag: d.remoteTag, cseq: o.cseq || d.cseq,
        from: d.local, to: d.remote, route: d.routes,
      }, o));
    };
    u.reply = (m, status, reason, o = {}) => {
      const to = m.h('to') + (o.toTag && !m.tag('to') ? ';tag=' + o.toTag : '');
      const lines = [
        `SIP/2.0 ${status} ${reason}`,
        ...m.hs('via').map(v => 'Via: ' + v),
        ...m.hs('record-route').map(v => 'Record-Route: ' + v),
        `From: ${m.h('from')}`, `To: ${to}`, `Call-ID: ${m.h('call-id')}`, `CSeq: ${m.h('cseq')}`,
        ...(status >= 200 && status < 300 && /INVITE|SUBSCRIBE|REFER/.test(m.method || '') || status > 100 && status < 200 ? [`Contact: ${u.contact}`] : []),
        ...(o.headers || []),
      ];
      if (o.body) lines.push(`Content-Type: ${o.ctype || 'application/sdp'}`);
      return u.send(lines.join('\n') + '\n\n' + (o.body || ''));
    };
  });
}

// A SIP peer on UDP (the trunk / phone side): the same wait/reply as a
// WebSocket peer; send(text, port) goes to 127.0.0.1:port (default a.sip,
// the gateway). Replies go back to where the request came from.
function udp(port, name = 'sip') {
  const dgram = require('dgram');
  return new Promise(resolve => {
    const sock = dgram.createSocket('udp4');
    const u = { sock, port, q: [], waiters: [], log: [], name };
    const pump = () => {
      for (const w of u.waiters.slice()) {
        const k = u.q.findIndex(w.pred);
        if (k >= 0) { const [m] = u.q.splice(k, 1); u.waiters.splice(u.waiters.indexOf(w), 1); clearTimeout(w.tm); w.resolve(m); }
      }
    };
    sock.on('message', (d, rinfo) => {
      const m = parse(d.toString());
      m.src = rinfo;
      // absorb retransmissions of a request or response already queued/seen
      const key = m.first + '|' + m.h('via') + '|' + m.h('cseq');
      if (u.seen && u.seen.has(key)) return;
      (u.seen = u.seen || new Set()).add(key);
      console.log(`${ts()} <<< ${name}: ${m.first}`);
      u.log.push('<<< ' + m.first);
      u.q.push(m); pump();
    });
    u.send = (text, to = arg.sip) => {
      const s = finish(text);
      console.log(`${ts()} >>> ${name}: ${s.slice(0, s.indexOf('\r\n'))}`);
      u.log.push('>>> ' + s.slice(0, s.indexOf('\r\n')));
      sock.send(s, to, '127.0.0.1');
      return s;
    };
    u.wait = (pred, ms = 10000) => new Promise(res => {
      const w = { pred, resolve: res };
      w.tm = setTimeout(() => { u.waiters.splice(u.waiters.indexOf(w), 1); res(null); }, ms);
      u.waiters.push(w); pump();
    });
    u.req = (method, ruri, o = {}) => {
      const r = { method, ruri, callId: o.callId || rnd(8), fromTag: o.fromTag || rnd(4), toTag: o.toTag || null,
        cseq: o.cseq || 1, branch: o.branch || 'z9hG4bK' + rnd(6) };
      const lines = [
        `${method} ${ruri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${r.branch};rport`, 'Max-Forwards: 70',
        ...(o.route || []).map(x => 'Route: ' + x),
        `From: ${o.from || '<sip:phone@127.0.0.1>'};tag=${r.fromTag}`, `To: ${o.to || '<sip:alice@sipbridge.test>'}${r.toTag ? ';tag=' + r.toTag : ''}`,
        `Call-ID: ${r.callId}`, `CSeq: ${r.cseq} ${o.cseqMethod || method}`,
        ...(o.noContact ? [] : [`Contact: <sip:phone@127.0.0.1:${port}>`]), ...(o.headers || []),
      ];
      if (o.body) lines.push(`Content-Type: ${o.ctype || 'application/sdp'}`);
      r.text = u.send(lines.join('\n') + '\n\n' + (o.body || ''), o.dest);
      return r;
    };
    u.reply = (m, status, reason, o = {}) => {
      const to = m.h('to') + (o.toTag && !m.tag('to') ? ';tag=' + o.toTag : '');
      const lines = [
        `SIP/2.0 ${status} ${reason}`, ...m.hs('via').map(v => 'Via: ' + v),
        ...m.hs('record-route').map(v => 'Record-Route: ' + v),
        `From: ${m.h('from')}`, `To: ${to}`, `Call-ID: ${m.h('call-id')}`, `CSeq: ${m.h('cseq')}`,
        ...(status > 100 && status < 300 && !/BYE|CANCEL|MESSAGE|INFO|PRACK|OPTIONS|REGISTER/.test(m.method || '') ? [`Contact: <sip:phone@127.0.0.1:${port}>`] : []),
        ...(o.headers || []),
      ];
      if (o.body) lines.push(`Content-Type: ${o.ctype || 'application/sdp'}`);
      return u.send(lines.join('\n') + '\n\n' + (o.body || ''), m.src.port);
    };
    // dialog helpers, as on the WebSocket side
    u.dialogAsCallee = (m, toTag) => ({
      callId: m.h('call-id'), localTag: toTag, remoteTag: m.tag('from'), cseq: 2000,
      local: m.h('to').replace(/;tag=.*$/, ''), remote: m.h('from').replace(/;tag=.*$/, ''),
      target: (/<([^>]+)>/.exec(m.h('contact') || '') || [])[1],
      routes: m.hs('record-route').flatMap(v => v.split(/,(?=\s*<)/)).map(x => x.trim()),
    });
    u.dialogAsCaller = (r, resp) => ({
      callId: r.callId, localTag: r.fromTag, remoteTag: resp.tag('to'), cseq: r.cseq,
      local: '<sip:phone@127.0.0.1>', remote: resp.h('to').replace(/;tag=.*$/, ''),
      target: (/<([^>]+)>/.exec(resp.h('contact') || '') || [])[1],
      routes: resp.hs('record-route').flatMap(v => v.split(/,(?=\s*<)/)).map(x => x.trim()).reverse(),
    });
    u.inDialog = (d, method, o = {}) => {
      if (method !== 'ACK' && !o.cseq) d.cseq++;
      return u.req(method, d.target, Object.assign({ callId: d.callId, fromTag: d.localTag, toTag: d.remoteTag,
        cseq: o.cseq || d.cseq, from: d.local, to: d.remote, route: d.routes }, o));
    };
    u.close = () => sock.close();
    sock.bind(port, '127.0.0.1', () => resolve(u));
  });
}

// A plain RTP/AVP answer or offer, as a SIP phone would send.
function rtpSdp(port = 6000, dir = 'sendrecv') {
  return ['v=0', `o=phone ${Date.now()} 1 IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=' + dir, ''].join('\n');
}

function sdp(port = 9, dir = 'sendrecv') {
  return [
    'v=0', `o=- ${Date.now()} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0',
    'a=group:BUNDLE 0', 'a=msid-semantic: WMS x',
    `m=audio ${port} UDP/TLS/RTP/SAVPF 111 0 126`, 'c=IN IP4 127.0.0.1',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=candidate:1 1 udp 2122260223 127.0.0.1 ${port} typ host generation 0`,
    'a=ice-ufrag:' + rnd(2), 'a=ice-pwd:' + rnd(12), 'a=ice-options:trickle',
    'a=fingerprint:sha-256 ' + crypto.randomBytes(32).toString('hex').toUpperCase().match(/../g).join(':'),
    'a=setup:actpass', 'a=mid:0', 'a=' + dir, 'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:126 telephone-event/8000', '',
  ].join('\n');
}

function health() {
  return new Promise(res => {
    http.get(arg.http + '/health', r => {
      let d = ''; r.on('data', c => d += c); r.on('end', () => { try { res(JSON.parse(d)); } catch (e) { res(null); } });
    }).on('error', () => res(null));
  });
}

// Poll /health until calls and transactions are both 0 (or ms pass).
async function idle(ms = 10000) {
  const end = Date.now() + ms;
  let h = null;
  while (Date.now() < end) {
    h = await health();
    if (h && h.calls === 0 && h.transactions === 0) return h;
    await sleep(200);
  }
  return h;
}

(async () => {
  const toolkit = { ua, udp, sdp, rtpSdp, sleep, health, idle, parse, rnd };
  let result;
  const watchdog = setTimeout(() => { write({ error: 'script timeout' }); process.exit(1); }, (arg.timeout || 50) * 1000);
  try {
    const fn = eval(fs.readFileSync(script, 'utf8'));
    result = await fn(arg, toolkit);
  } catch (e) {
    result = { error: String(e && e.stack || e) };
  }
  clearTimeout(watchdog);
  write(result);
  process.exit(result && result.error ? 1 : 0);
})();

function write(r) {
  const s = JSON.stringify(r, null, 1);
  if (out) fs.writeFileSync(out, s); else console.log(s);
}
