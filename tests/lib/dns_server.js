#!/usr/bin/env node
// An authoritative DNS server for the tests (RFC 1035, UDP only), with
// the few record types SIP's RFC 3263 lookup asks for: A, AAAA, SRV and
// NAPTR (never any here: the lookup goes on to SRV). Names and records
// come from a JSON zone file:
//   { "_sip._udp.trunk.test": { "SRV": [[10, 10, 5070, "pbx.test"]] },
//     "pbx.test": { "A": ["127.0.0.1"] } }
// A known name without records of the type asked gets an empty NOERROR
// answer, an unknown one NXDOMAIN. Each question is printed as
// "query TYPE NAME -> RCODE N answers" so that a test sees who asked what.
//
//   node dns_server.js IP PORT ZONE.json
'use strict';
const dgram = require('dgram');
const fs = require('fs');

const [ip, port, zoneFile] = process.argv.slice(2);
const zone = {};
for (const [k, v] of Object.entries(JSON.parse(fs.readFileSync(zoneFile, 'utf8'))))
  zone[k.toLowerCase().replace(/\.$/, '')] = v;
const TYPES = { 1: 'A', 28: 'AAAA', 33: 'SRV', 35: 'NAPTR' };

function readName(buf, off) {
  const labels = [];
  for (;;) {
    const len = buf[off];
    if (len === undefined || len >= 0xc0) throw new Error('bad name');
    off++;
    if (len === 0) break;
    labels.push(buf.toString('ascii', off, off + len));
    off += len;
  }
  return [labels.join('.'), off];
}

function name(n) {
  const parts = n.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...parts.map(p => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])),
    Buffer.from([0])]);
}

function u16(v) { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; }

function rdata(type, r) {
  if (type === 'A') return Buffer.from(r.split('.').map(Number));
  if (type === 'AAAA') {
    const [h, t = ''] = r.split('::');
    const hs = h ? h.split(':') : [], ts = t ? t.split(':') : [];
    const all = [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
    return Buffer.concat(all.map(x => u16(parseInt(x, 16))));
  }
  if (type === 'SRV') return Buffer.concat([u16(r[0]), u16(r[1]), u16(r[2]), name(r[3])]);
  throw new Error('no ' + type);
}

const sock = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
sock.on('message', (msg, rinfo) => {
  let qname, end;
  try {
    if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return;
    [qname, end] = readName(msg, 12);
  } catch (e) { return; }
  const qtype = msg.readUInt16BE(end);
  const question = msg.subarray(12, end + 4);
  const type = TYPES[qtype] || String(qtype);
  const node = zone[qname.toLowerCase()];
  const records = node && node[type] || [];
  const answers = records.map(r => {
    const d = rdata(type, r);
    return Buffer.concat([Buffer.from([0xc0, 12]), u16(qtype), u16(1),
      Buffer.from([0, 0, 0, 60]), u16(d.length), d]);
  });
  const rcode = node ? 0 : 3;
  const head = Buffer.alloc(12);
  head.writeUInt16BE(msg.readUInt16BE(0), 0);
  head.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | rcode, 2);  // QR AA, RD copied
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  console.log(`query ${type} ${qname} -> ${rcode ? 'NXDOMAIN' : 'NOERROR'} ${answers.length} answers`);
  sock.send(Buffer.concat([head, question, ...answers]), rinfo.port, rinfo.address);
});
sock.bind(+port, ip, () => console.log(`dns on ${ip}:${port}`));
