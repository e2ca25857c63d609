#!/usr/bin/env node
// A STUN server for the tests (RFC 8489 Binding only) that reports the
// mapped address of its choosing, as a server on the far side of a 1:1
// NAT would see the gateway: every Binding request gets a success answer
// with XOR-MAPPED-ADDRESS = MAPPED_IP and the request's own source port,
// and a FINGERPRINT. Anything else is ignored. IPv4 only.
//
//   node stun_server.js IP PORT MAPPED_IP
'use strict';
const dgram = require('dgram');
const zlib = require('zlib');

const [ip, port, mapped] = process.argv.slice(2);
const MAGIC = 0x2112a442;
const sock = dgram.createSocket('udp4');

function attr(type, value) {
  const pad = (4 - (value.length % 4)) % 4;
  const a = Buffer.alloc(4 + value.length + pad);
  a.writeUInt16BE(type, 0);
  a.writeUInt16BE(value.length, 2);
  value.copy(a, 4);
  return a;
}

sock.on('message', (msg, rinfo) => {
  if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001 || msg.readUInt32BE(4) !== MAGIC) return;
  const xma = Buffer.alloc(8);
  xma.writeUInt8(0x01, 1);                                  // IPv4
  xma.writeUInt16BE(rinfo.port ^ (MAGIC >>> 16), 2);
  const a = mapped.split('.').map(Number);
  xma.writeUInt32BE((((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) ^ MAGIC) >>> 0, 4);
  let body = attr(0x0020, xma);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(0x0101, 0);                             // Binding success
  msg.copy(head, 4, 4, 20);                                  // magic + transaction
  head.writeUInt16BE(body.length + 8, 2);                    // with the FINGERPRINT
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((zlib.crc32(Buffer.concat([head, body])) ^ 0x5354554e) >>> 0, 0);
  body = Buffer.concat([body, attr(0x8028, crc)]);
  sock.send(Buffer.concat([head, body]), rinfo.port, rinfo.address);
  console.log(`binding from ${rinfo.address}:${rinfo.port} -> ${mapped}:${rinfo.port}`);
});
sock.bind(Number(port), ip, () => console.log(`stun server on ${ip}:${port}, mapping to ${mapped}`));
