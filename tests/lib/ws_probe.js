#!/usr/bin/env node
// Open a WebSocket and report what happened, as one JSON line:
//   {"open":true,"protocol":"sip"}  or  {"open":false,"status":400,"error":"..."}
// Optionally send one text frame after opening and wait for one reply
// (--send TEXT, --send-file FILE); the reply is reported as "reply".
// usage: node ws_probe.js URL [--proto P]... [--send TEXT|--send-file F] [--timeout MS]
// Exit status 0 when the socket opened (and, with --send, a reply came), else 1.
'use strict';
const fs = require('fs');
const WebSocket = require('ws');
const a = process.argv.slice(2);
const url = a.shift();
const protos = [];
let send, timeout = 3000;
while (a.length) {
  const k = a.shift();
  if (k === '--proto') protos.push(a.shift());
  else if (k === '--send') send = a.shift();
  else if (k === '--send-file') send = fs.readFileSync(a.shift(), 'utf8');
  else if (k === '--timeout') timeout = +a.shift();
  else { console.error('unknown option ' + k); process.exit(2); }
}
const out = r => { console.log(JSON.stringify(r)); process.exit(r.open && (!send || r.reply !== undefined) ? 0 : 1); };
const ws = new WebSocket(url, protos, { handshakeTimeout: timeout });
const tm = setTimeout(() => out({ open: ws.readyState === 1, protocol: ws.protocol, error: 'timeout' }), timeout + 500);
ws.on('unexpected-response', (req, res) => { clearTimeout(tm); out({ open: false, status: res.statusCode, error: 'unexpected-response' }); });
ws.on('error', e => { clearTimeout(tm); out({ open: false, error: String(e.message || e) }); });
ws.on('open', () => {
  if (!send) { clearTimeout(tm); const p = ws.protocol; ws.close(1000); return out({ open: true, protocol: p }); }
  ws.on('message', m => { clearTimeout(tm); const p = ws.protocol; ws.close(1000); out({ open: true, protocol: p, reply: m.toString() }); });
  ws.send(send);
});
ws.on('close', (code, reason) => { clearTimeout(tm); out({ open: false, closeCode: code, reason: reason.toString(), protocol: ws.protocol }); });
