#!/usr/bin/env node
// Headless Chromium driver for the e2e tests (playwright-core + /usr/bin/chromium).
//
// Serves tests/e2e/www (pages) and tests/e2e/.work/www (JsSIP/SIP.js bundles
// made by tests/e2e/bundle.sh) on 127.0.0.1, opens a page, evaluates an async
// function in it with one JSON argument and prints the JSON result.
// Run it inside the test's network namespace (tests/lib/common.sh sb_browser):
// Chromium must not run in the root namespace (E2E.md §2).
//
// usage: node browser.js [options] FUNCTION
//   FUNCTION       JS source of an async function taking one argument, e.g.
//                  'async (a) => { const ua = await sb.ua(a); return ua.connected; }'
//                  or @FILE to read the source from FILE.
//   --arg JSON     the argument (default {}); --arg-file FILE reads it from FILE
//   --page NAME    page under tests/e2e/www (default sip.html)
//   --wav FILE     fake microphone WAV (mono s16; default: a 1 kHz 48 kHz tone made with sox)
//   --timeout SEC  overall limit for the function (default 60); on timeout the
//                  result is { error: 'timeout', events: sb.events }
//   --out FILE     also write the JSON result to FILE
//   --flag ARG     extra Chromium flag (repeatable)
// Exit status: 0 when the function returned (the test judges the result),
// 1 when it threw or timed out, 2 on bad usage.
// Console lines of the page are echoed as "[console] ..." (the page logs its
// events as "SBEVENT {...}"), page errors as "[pageerror] ...".
// As a module: const { runInBrowser } = require('./browser'); await runInBrowser({ fn, arg, ... }).
'use strict';
const http = require('http');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const E2E = path.resolve(__dirname, '..');
const ROOTS = [path.join(E2E, 'www'), path.join(E2E, '.work', 'www')];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wav': 'audio/wav', '.json': 'application/json' };

// Playwright's own --disable-features list (playwright-core 1.65.1) plus
// WebRtcHideLocalIpsWithMdns: Chromium honours only the last --disable-features
// flag, so ours must repeat Playwright's (E2E.md §3 caveat).
const DISABLED_FEATURES = 'AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,' +
  'HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,' +
  'AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,NetworkTimeServiceQuerying,' +
  'AimEnabled,PreconnectToSearch,msForceBrowserSignIn,msEdgeUpdateLaunchServicesPreferredVersion,WebRtcHideLocalIpsWithMdns';

// Static server over ROOTS (first match wins), 127.0.0.1 only.
function startHttp() {
  return new Promise((resolve, reject) => {
    const srv = http.createServer((req, res) => {
      const rel = path.normalize(decodeURIComponent(req.url.split('?')[0])).replace(/^(\.\.[/\\])+/, '');
      for (const root of ROOTS) {
        const p = path.join(root, rel);
        if (p.startsWith(root + path.sep) && fs.existsSync(p) && fs.statSync(p).isFile()) {
          res.writeHead(200, { 'content-type': TYPES[path.extname(p)] || 'application/octet-stream', 'cache-control': 'no-store' });
          return fs.createReadStream(p).pipe(res);
        }
      }
      res.writeHead(404); res.end('not found');
    });
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

function defaultWav(dir) {
  const f = path.join(dir, 'tone1k_48k.wav');
  if (!fs.existsSync(f)) {
    const r = spawnSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', f, 'synth', '60', 'sine', '1000', 'vol', '0.5']);
    if (r.status !== 0) throw new Error('sox failed: ' + (r.stderr || ''));
  }
  return f;
}

// Launch Chromium, open the page, run `fn` (source text) with `arg`.
async function runInBrowser({ fn, arg = {}, page: pageName = 'sip.html', wav, timeoutSec = 60, flags = [], log = console.log }) {
  const { chromium } = require('playwright-core');
  // Chromium's singleton socket lives in TMPDIR and a unix socket path must be
  // short (108 bytes): always use a fresh dir directly under /tmp, removed below.
  const tmp = fs.mkdtempSync(path.join(fs.existsSync('/tmp') ? '/tmp' : os.tmpdir(), 'sbc-'));
  const wavFile = path.resolve(wav || defaultWav(tmp));
  const srv = await startHttp();
  const args = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--allow-loopback-in-peer-connection',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-audio-capture=${wavFile}`,
    '--autoplay-policy=no-user-gesture-required',
    `--disable-features=${DISABLED_FEATURES}`,
    ...flags,
  ];
  const udd = path.join(tmp, 'profile');
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(udd, {
      executablePath: '/usr/bin/chromium', headless: true, args,
      ignoreDefaultArgs: ['--mute-audio'],      // muted output zeroes getStats audioLevel (E2E.md)
      env: { ...process.env, TMPDIR: tmp },
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', m => log('[console] ' + m.text()));
    page.on('pageerror', e => log('[pageerror] ' + e.message));
    const url = `http://127.0.0.1:${srv.address().port}/${pageName}`;
    await page.goto(url);
    await page.waitForFunction(() => typeof window.sb === 'object' || !/sip\.html/.test(location.pathname), null, { timeout: 10000 });
    const expr = `(${fn})(${JSON.stringify(arg)})`;
    let timer;
    const timeout = new Promise(resolve => { timer = setTimeout(() => resolve('__timeout__'), timeoutSec * 1000); });
    const res = await Promise.race([page.evaluate(expr), timeout]);
    clearTimeout(timer);
    if (res === '__timeout__') {
      const snap = await page.evaluate('window.sb && sb.snapshot ? sb.snapshot() : {}').catch(() => ({}));
      return { ok: false, result: { error: 'timeout', ...snap } };
    }
    return { ok: true, result: res === undefined ? null : res };
  } catch (e) {
    return { ok: false, result: { error: String(e && e.message || e).slice(0, 3000) } };
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    srv.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function parseArgs(argv) {
  const o = { flags: [], arg: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], next = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--arg') o.arg = JSON.parse(next());
    else if (a === '--arg-file') o.arg = JSON.parse(fs.readFileSync(next(), 'utf8'));
    else if (a === '--page') o.page = next();
    else if (a === '--wav') o.wav = next();
    else if (a === '--timeout') o.timeoutSec = +next();
    else if (a === '--out') o.out = next();
    else if (a === '--flag') o.flags.push(next());
    else if (a.startsWith('--')) usage('unknown option ' + a);
    else if (o.fn === undefined) o.fn = a.startsWith('@') ? fs.readFileSync(a.slice(1), 'utf8') : a;
    else usage('extra argument ' + a);
  }
  if (!o.fn) usage('no FUNCTION given');
  return o;
}

function usage(msg) {
  console.error(`browser.js: ${msg}\nusage: node browser.js [--arg JSON] [--page P] [--wav F] [--timeout S] [--out F] [--flag X]... FUNCTION|@FILE`);
  process.exit(2);
}

if (require.main === module) {
  const o = parseArgs(process.argv.slice(2));
  runInBrowser(o).then(({ ok, result }) => {
    const text = JSON.stringify(result, null, 2);
    if (o.out) fs.writeFileSync(o.out, text + '\n');
    console.log('RESULT ' + text);
    process.exit(ok ? 0 : 1);
  }, e => { console.error(e); process.exit(1); });
}

module.exports = { runInBrowser, startHttp };
