#!/usr/bin/env node
// Test double for the harness self-check ONLY (tests/e2e/t_harness_browser.sh):
// a tiny SIP-over-WebSocket registrar + relay, so the page's JsSIP/SIP.js
// wrappers can be proven to work before and independently of the gateway.
// It is not a model of the gateway and no gateway test uses it.
//
//  * accepts WebSocket subprotocol "sip" only (like RFC 7118 servers);
//  * REGISTER: 401 with a Digest challenge, then checks the MD5 digest
//    (RFC 2617, qop=auth) against --password and answers 200 (Contact echoed) or 403;
//    remembers AOR user and Contact user -> connection;
//  * any other request: relayed to the connection registered for the
//    Request-URI user (404 if none); responses go back over the connection the
//    request came from (matched by the top Via branch).
// usage: node fake_sip_ws.js PORT PASSWORD    (binds 127.0.0.1; logs to stdout)
'use strict';
const crypto = require('crypto');
const { WebSocketServer } = require('ws');

const port = +process.argv[2] || 0;
const password = process.argv[3] || 'secret';
const REALM = 'harness.test';
const byUser = new Map();    // user -> ws
const byBranch = new Map();  // top Via branch -> ws that sent the request

const md5 = s => crypto.createHash('md5').update(s).digest('hex');
const hdr = (msg, name) => (msg.match(new RegExp('^(?:' + name + '):\\s*(.*)$', 'mi')) || [])[1];
const topBranch = msg => (/^(?:Via|v):[^\r\n]*?;branch=([^;\s,]+)/mi.exec(msg) || [])[1];

function reply(ws, req, code, reason, extra = []) {
  const lines = req.split('\r\n');
  const vias = lines.filter(l => /^(Via|v):/i.test(l));
  let to = 'To: ' + hdr(req, 'To|t');
  if (!/;tag=/i.test(to)) to += ';tag=h' + crypto.randomBytes(4).toString('hex');
  ws.send([`SIP/2.0 ${code} ${reason}`, ...vias, 'From: ' + hdr(req, 'From|f'), to,
    'Call-ID: ' + hdr(req, 'Call-ID|i'), 'CSeq: ' + hdr(req, 'CSeq'), ...extra, 'Content-Length: 0', '', ''].join('\r\n'));
  console.log(`>>> ${code} ${reason} (${hdr(req, 'CSeq')})`);
}

function checkDigest(req, method) {
  const auth = hdr(req, 'Authorization');
  if (!auth) return null;
  const p = {};
  auth.replace(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g, (_, k, a, b) => { p[k] = a !== undefined ? a : b; });
  const ha1 = md5(`${p.username}:${p.realm}:${password}`);
  const ha2 = md5(`${method}:${p.uri}`);
  const expect = p.qop ? md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
  return { ok: expect === p.response, user: p.username };
}

const wss = new WebSocketServer({ host: '127.0.0.1', port,
  // refuse the upgrade unless the client offers "sip" (ws alone would accept none)
  verifyClient: ({ req }) => /(^|,)\s*sip\s*(,|$)/.test(req.headers['sec-websocket-protocol'] || ''),
  handleProtocols: ps => (ps.has('sip') ? 'sip' : false) });
wss.on('listening', () => console.log('listening', wss.address().port));
wss.on('connection', (ws, req) => {
  console.log(`connection protocol=${ws.protocol} from ${req.socket.remotePort}`);
  ws.on('message', data => {
    const msg = data.toString();
    const first = msg.split('\r\n')[0];
    console.log('<<< ' + first);
    if (/^SIP\/2\.0 /.test(first)) {               // a response: back to the requester
      const to = byBranch.get(topBranch(msg));
      if (to) to.send(msg);
      return;
    }
    const [method, ruri] = first.split(' ');
    if (method === 'REGISTER') {
      const d = checkDigest(msg, method);
      if (!d) return reply(ws, msg, 401, 'Unauthorized',
        [`WWW-Authenticate: Digest realm="${REALM}", nonce="${crypto.randomBytes(8).toString('hex')}", algorithm=MD5, qop="auth"`]);
      if (!d.ok) return reply(ws, msg, 403, 'Forbidden');
      const aor = /sip:([^@>;]+)@/.exec(hdr(msg, 'To|t') || '');
      const contact = hdr(msg, 'Contact|m') || '';
      const cu = /sip:([^@>;]+)@/.exec(contact);
      if (aor) byUser.set(aor[1], ws);
      if (cu) byUser.set(cu[1], ws);
      return reply(ws, msg, 200, 'OK', contact ? ['Contact: ' + contact.replace(/;expires=\d+/, '') + ';expires=600'] : []);
    }
    const user = (/^sips?:([^@;>]+)@/.exec(ruri) || [])[1];
    const dest = byUser.get(user);
    if (!dest || dest.readyState !== 1) {
      if (method !== 'ACK') reply(ws, msg, 404, 'Not Found');
      return;
    }
    byBranch.set(topBranch(msg), ws);
    dest.send(msg);
  });
});
