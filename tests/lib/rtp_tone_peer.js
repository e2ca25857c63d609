// A phone's media in a few lines, for tests: binds IP:PORT, and once it
// knows where to send (the address of the SDP that the file FILE holds,
// last "c=" and "m=audio" lines of the first INVITE in a sipp message
// log), streams PCMU at HZ (20 ms packets) there for SECONDS, from when
// FILE also matches the regular expression START if given. It counts
// what it receives and prints one JSON line at the end:
//   {"rx":N,"loud":N}   loud: packets whose payload is not silence
// usage: node rtp_tone_peer.js IP PORT FILE HZ SECONDS [START]
'use strict';
const dgram = require('dgram');
const fs = require('fs');
const [ip, port, file, hz, secs, start] = process.argv.slice(2);

function mulaw(sample) {
  const BIAS = 0x84, CLIP = 32635;
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(Math.abs(sample), CLIP) + BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

function target() {
  let t;
  try { t = fs.readFileSync(file, 'utf8'); } catch (e) { return null; }
  const i = t.search(/^INVITE /m);
  if (i < 0 || (start && !new RegExp(start, 'm').test(t))) return null;
  const inv = t.slice(i).split(/\r?\n\r?\n/).slice(0, 2).join('\n');
  const c = inv.match(/^c=IN IP[46] (\S+)/m), m = inv.match(/^m=audio (\d+)/m);
  return c && m ? { addr: c[1], port: +m[1] } : null;
}

const sock = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
let rx = 0, loud = 0;
sock.on('message', b => {
  if (b.length < 12 || (b[1] & 0x7f) !== 0) return;
  rx++;
  // mu-law silence is 0xff/0x7f; a tone swings across the whole range
  let min = 255, max = 0;
  for (let k = 12; k < b.length; k++) { const v = b[k] & 0x7f; min = Math.min(min, v); max = Math.max(max, v); }
  if (max - min > 20) loud++;
});
sock.bind(+port, ip, () => {
  let to = null, seq = 1, ts = 0, n = 0;
  const ssrc = 0x5eed0001, t0 = Date.now();
  const timer = setInterval(() => {
    to = to || target();
    if (!to) return;
    const p = Buffer.alloc(172);
    p[0] = 0x80; p[1] = 0; p.writeUInt16BE(seq++ & 0xffff, 2);
    p.writeUInt32BE(ts >>> 0, 4); p.writeUInt32BE(ssrc, 8);
    for (let k = 0; k < 160; k++, n++) p[12 + k] = mulaw(Math.round(8000 * Math.sin(2 * Math.PI * hz * n / 8000)));
    ts += 160;
    sock.send(p, to.port, to.addr);
  }, 20);
  setTimeout(() => {
    clearInterval(timer);
    console.log(JSON.stringify({ rx, loud }));
    sock.close();
  }, secs * 1000);
});
