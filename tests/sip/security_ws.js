#!/usr/bin/env node
// WebSocket SIP client for the security tests (tests/sip/t_security_*.sh).
// Prints one JSON line with what happened; the shell test asserts on it.
//
//   node security_ws.js MODE URL [ARGS] [--origin O] [--insecure] [--timeout MS]
//
//   open URL                 open and close: {open, status?, protocol?}
//   hold URL N               open N sockets one after the other and keep them
//                            open until all were tried: {results:[{open,status}]}
//   idle URL                 open, send nothing, wait for the server to close:
//                            {open, closeCode, reason, ms}
//   flood URL N              send N OPTIONS (no user part: the gateway answers
//                            them itself) back to back, count replies within
//                            1.5 s: {sent, replies}
//   big URL BYTES            send a MESSAGE with a BYTES-byte body: {status, reason, line}
//   register URL             REGISTER sip:sipbridge.test: {status, reason}
//   calls URL STEP...        run INVITE/BYE steps on one connection, in order:
//       inv:TARGET           INVITE sip:TARGET@sipbridge.test with a WebRTC offer;
//                            a 2xx is ACKed and the call kept
//       sdpsize:TARGET:N     same with the offer padded to about N bytes
//       mlines:TARGET:N      same with N audio m= lines
//       bye:I                BYE the I-th call that was answered (0-based)
//       wait:MS              sleep
//       touch:PATH           create the file PATH (to sequence several clients)
//       waitfile:PATH        wait (up to --timeout) until PATH exists
//     {steps:[{step, status, reason, retryAfter}]}
//
// --user sets the From user (default alice); --origin sets the Origin header; --insecure accepts any TLS certificate (wss://).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const WebSocket = require('ws');

const argv = process.argv.slice(2);
const opts = { timeout: 5000 };
const pos = [];
while (argv.length) {
  const k = argv.shift();
  if (k === '--origin') opts.origin = argv.shift();
  else if (k === '--insecure') opts.insecure = true;
  else if (k === '--timeout') opts.timeout = +argv.shift();
  else if (k === '--user') opts.user = argv.shift();
  else pos.push(k);
}
const [mode, url, ...rest] = pos;
const done = r => { console.log(JSON.stringify(r)); process.exit(0); };
setTimeout(() => done({ error: 'global timeout' }), opts.timeout + 20000).unref();

function connect() {
  const o = { handshakeTimeout: opts.timeout };
  if (opts.origin) o.origin = opts.origin;
  if (opts.insecure) o.rejectUnauthorized = false;
  return new Promise(resolve => {
    const ws = new WebSocket(url, ['sip'], o);
    ws.on('unexpected-response', (req, res) => resolve({ ws, open: false, status: res.statusCode }));
    ws.on('error', e => resolve({ ws, open: false, error: String(e.message || e) }));
    ws.on('open', () => resolve({ ws, open: true, protocol: ws.protocol }));
  });
}

const sleep = ms => new Promise(r => setTimeout(r, ms));
const rnd = () => crypto.randomBytes(6).toString('hex');
const HOST = 'sipbridge.test';

function request(method, ruri, h) {
  const body = h.body || '';
  const lines = [
    `${method} ${ruri} SIP/2.0`,
    `Via: SIP/2.0/WSS ${h.via || 'client.invalid'};branch=z9hG4bK${h.branch || rnd()}`,
    'Max-Forwards: 70',
    ...(h.route || []).map(r => `Route: ${r}`),
    `From: <sip:${h.user || 'alice'}@${HOST}>;tag=${h.ftag}`,
    `To: <${h.to || ruri}>${h.ttag ? ';tag=' + h.ttag : ''}`,
    `Call-ID: ${h.callId}`,
    `CSeq: ${h.cseq} ${h.cseqMethod || method}`,
    `Contact: <sip:${h.user || 'alice'}@client.invalid;transport=ws>`,
    ...(body ? ['Content-Type: ' + (h.ctype || 'application/sdp')] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

function parse(text) {
  const [head, ...b] = text.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const m = /^SIP\/2\.0 (\d+) (.*)$/.exec(lines[0]);
  const hdrs = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    (hdrs[k] = hdrs[k] || []).push(l.slice(i + 1).trim());
  }
  return { line: lines[0], status: m ? +m[1] : 0, reason: m ? m[2] : '', hdrs, body: b.join('\r\n\r\n') };
}

// Wait for the final response of the request with this CSeq method + Call-ID.
function finalResponse(ws, callId, ms) {
  return new Promise(resolve => {
    const t = setTimeout(() => { ws.off('message', on); resolve({ status: 0, reason: 'timeout' }); }, ms);
    function on(data) {
      const r = parse(data.toString());
      if (!r.status || (r.hdrs['call-id'] || [])[0] !== callId || r.status < 200) return;
      clearTimeout(t); ws.off('message', on); resolve(r);
    }
    ws.on('message', on);
  });
}

function offer(opt = {}) {
  const fp = Array.from(crypto.randomBytes(32), b => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  const media = i => [
    'm=audio 9 UDP/TLS/RTP/SAVPF 0 8',
    'c=IN IP4 127.0.0.1',
    `a=mid:${i}`,
    'a=ice-ufrag:' + rnd().slice(0, 8),
    'a=ice-pwd:' + crypto.randomBytes(12).toString('hex'),
    'a=ice-options:trickle',
    'a=fingerprint:sha-256 ' + fp,
    'a=setup:actpass',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host',
  ];
  const n = opt.mlines || 1;
  let s = ['v=0', 'o=- 4711 1 IN IP4 127.0.0.1', 's=-', 't=0 0',
    'a=group:BUNDLE ' + [...Array(n).keys()].join(' ')];
  for (let i = 0; i < n; i++) s.push(...media(i));
  if (opt.size) {
    const pad = [];
    let len = s.join('\r\n').length;
    while (len < opt.size) { const l = 'a=x-pad:' + 'p'.repeat(100); pad.push(l); len += l.length + 2; }
    s.splice(5, 0, ...pad);
  }
  return s.join('\r\n') + '\r\n';
}

async function runCalls(ws, steps) {
  const calls = [];
  const out = [];
  for (const step of steps) {
    const [kind, a, b] = step.split(':');
    if (kind === 'wait') { await sleep(+a); continue; }
    if (kind === 'touch') { fs.writeFileSync(a, ''); continue; }
    if (kind === 'waitfile') {
      const t0 = Date.now();
      while (!fs.existsSync(a) && Date.now() - t0 < opts.timeout) await sleep(50);
      out.push({ step, status: fs.existsSync(a) ? 1 : 0 });
      continue;
    }
    if (kind === 'bye') {
      const c = calls[+a];
      if (!c) { out.push({ step, status: 0, reason: 'no such call' }); continue; }
      c.cseq++;
      ws.send(request('BYE', c.remote, { ...c, branch: rnd() }));
      const r = await finalResponse(ws, c.callId, opts.timeout);
      out.push({ step, status: r.status, reason: r.reason });
      continue;
    }
    const ruri = `sip:${a}@${HOST}`;
    const body = offer({ size: kind === 'sdpsize' ? +b : 0, mlines: kind === 'mlines' ? +b : 1 });
    const c = { callId: rnd() + '@client', ftag: rnd(), cseq: 1, to: ruri, user: opts.user };
    ws.send(request('INVITE', ruri, { ...c, body }));
    const r = await finalResponse(ws, c.callId, opts.timeout);
    const rec = { step, status: r.status, reason: r.reason, retryAfter: (r.hdrs && r.hdrs['retry-after'] || [])[0] };
    out.push(rec);
    if (r.status >= 200 && r.status < 300) {
      // Dialog: To tag, remote target, route set (Record-Route reversed).
      c.ttag = /;tag=([^;>\s]+)/.exec(r.hdrs.to[0])[1];
      c.remote = /<([^>]+)>/.exec(r.hdrs.contact[0])[1];
      const rr = [];
      for (const v of r.hdrs['record-route'] || []) rr.push(...v.split(/,(?=\s*<)/).map(x => x.trim()));
      c.route = rr.reverse();
      ws.send(request('ACK', c.remote, { ...c, branch: rnd() }));
      calls.push(c);
    }
  }
  return out;
}

async function main() {
  if (mode === 'open') {
    const c = await connect();
    if (c.open) c.ws.close(1000);
    return done({ open: c.open, status: c.status, protocol: c.protocol, error: c.error });
  }
  if (mode === 'hold') {
    const n = +rest[0], results = [], socks = [];
    for (let i = 0; i < n; i++) {
      const c = await connect();
      results.push({ open: c.open, status: c.status });
      if (c.open) socks.push(c.ws);
    }
    socks.forEach(s => s.close(1000));
    return done({ results });
  }
  const c = await connect();
  if (!c.open) return done({ open: false, status: c.status, error: c.error });
  const ws = c.ws;
  if (mode === 'idle') {
    const t0 = Date.now();
    ws.on('close', (code, reason) => done({ open: true, closeCode: code, reason: reason.toString(), ms: Date.now() - t0 }));
    return;
  }
  if (mode === 'flood') {
    const n = +rest[0];
    let replies = 0;
    ws.on('message', d => { if (/^SIP\/2\.0 200/.test(d.toString())) replies++; });
    for (let i = 0; i < n; i++)
      ws.send(request('OPTIONS', `sip:${HOST}`, { callId: rnd(), ftag: rnd(), cseq: i + 1 }));
    setTimeout(() => { ws.close(1000); done({ sent: n, replies }); }, 1500);
    return;
  }
  if (mode === 'big') {
    const body = 'x'.repeat(+rest[0]);
    const h = { callId: rnd(), ftag: rnd(), cseq: 1, body, ctype: 'text/plain' };
    ws.send(request('MESSAGE', `sip:bob@${HOST}`, h));
    const r = await finalResponse(ws, h.callId, opts.timeout);
    ws.close(1000);
    return done({ status: r.status, reason: r.reason, line: r.line });
  }
  if (mode === 'register') {
    const h = { callId: rnd(), ftag: rnd(), cseq: 1, to: `sip:alice@${HOST}` };
    ws.send(request('REGISTER', `sip:${HOST}`, h));
    const r = await finalResponse(ws, h.callId, opts.timeout);
    ws.close(1000);
    return done({ status: r.status, reason: r.reason });
  }
  if (mode === 'calls') {
    const steps = await runCalls(ws, rest);
    ws.close(1000);
    return done({ steps });
  }
  done({ error: 'unknown mode ' + mode });
}
main();
