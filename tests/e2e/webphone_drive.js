#!/usr/bin/env node
// Headless Chromium driver for the webphone page served by the daemon itself
// (gateway/www at listen.http). Unlike lib/browser.js it does not serve
// pages: it opens --url, and the test script runs on the Node side with the
// Playwright page, so it clicks real buttons (page.click) and reads the
// page's test API (page.evaluate(() => sbPhone.state)).
// Run it inside the test's network namespace (E2E.md §2).
//
// usage: node webphone_drive.js --url URL [options] SCRIPT|@FILE
//   SCRIPT           JS source of `async (page, arg, h) => result`; h has
//                    shot(file, {fullPage}), sleep(ms), log(...),
//                    waitPhone(fnSource, ms) (polls a page-side predicate on
//                    window.sbPhone and returns its first truthy value or null)
//   --arg JSON       argument for SCRIPT (default {})
//   --wav FILE       fake microphone WAV (mono s16; default: 1 kHz at 48 kHz, made with sox)
//   --viewport WxH   window size (default 1100x820)
//   --scale N        device scale factor (default 1)
//   --screenshot F   save a screenshot of the page to F when SCRIPT is done
//   --timeout SEC    limit for SCRIPT (default 60)
//   --out FILE       write the JSON result to FILE too
//   --flag ARG       extra Chromium flag (repeatable)
// Exit status: 0 when SCRIPT returned, 1 when it threw or timed out, 2 on bad usage.
// Page console lines are echoed as "[console] ..." (the page logs its own
// events as "SBPHONE {...}").
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

// Playwright's own --disable-features list (playwright-core 1.65.1) plus
// WebRtcHideLocalIpsWithMdns: Chromium honours only the last such flag (E2E.md §3).
const DISABLED_FEATURES = 'AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,' +
  'HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,' +
  'AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,NetworkTimeServiceQuerying,' +
  'AimEnabled,PreconnectToSearch,msForceBrowserSignIn,msEdgeUpdateLaunchServicesPreferredVersion,WebRtcHideLocalIpsWithMdns';

function usage(msg) {
  console.error(`webphone_drive.js: ${msg}\nusage: node webphone_drive.js --url URL [--arg JSON] [--wav F] ` +
    '[--viewport WxH] [--scale N] [--screenshot F] [--timeout S] [--out F] [--flag X]... SCRIPT|@FILE');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { flags: [], arg: {}, viewport: '1100x820', scale: 1, timeoutSec: 60 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], next = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--url') o.url = next();
    else if (a === '--arg') o.arg = JSON.parse(next());
    else if (a === '--wav') o.wav = next();
    else if (a === '--viewport') o.viewport = next();
    else if (a === '--scale') o.scale = +next();
    else if (a === '--screenshot') o.screenshot = next();
    else if (a === '--timeout') o.timeoutSec = +next();
    else if (a === '--out') o.out = next();
    else if (a === '--flag') o.flags.push(next());
    else if (a.startsWith('--')) usage('unknown option ' + a);
    else if (o.src === undefined) o.src = a.startsWith('@') ? fs.readFileSync(a.slice(1), 'utf8') : a;
    else usage('extra argument ' + a);
  }
  if (!o.url) usage('no --url');
  if (!o.src) usage('no SCRIPT');
  const m = /^(\d+)x(\d+)$/.exec(o.viewport);
  if (!m) usage('bad --viewport ' + o.viewport);
  o.size = { width: +m[1], height: +m[2] };
  return o;
}

function toneWav(dir) {
  const f = path.join(dir, 'tone1k_48k.wav');
  const r = spawnSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', f, 'synth', '60', 'sine', '1000', 'vol', '0.5']);
  if (r.status !== 0) throw new Error('sox failed: ' + (r.stderr || ''));
  return f;
}

async function run(o) {
  const { chromium } = require('playwright-core');
  // Chromium's singleton socket lives in TMPDIR and must have a short path.
  const tmp = fs.mkdtempSync('/tmp/sbw-');
  const wav = path.resolve(o.wav || toneWav(tmp));
  const args = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--allow-loopback-in-peer-connection',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-audio-capture=${wav}`,
    '--autoplay-policy=no-user-gesture-required',
    `--disable-features=${DISABLED_FEATURES}`,
    ...o.flags,
  ];
  let ctx;
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  try {
    ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: '/usr/bin/chromium', headless: true, args,
      ignoreDefaultArgs: ['--mute-audio'],  // a muted output zeroes WebRTC audio levels (E2E.md)
      viewport: o.size, deviceScaleFactor: o.scale,
      env: { ...process.env, TMPDIR: tmp },
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', m => console.log('[console] ' + m.text()));
    page.on('pageerror', e => console.log('[pageerror] ' + e.message));
    const h = {
      sleep,
      log: (...a) => console.log('[script]', ...a),
      shot: (file, opts = {}) => page.screenshot({ path: file, ...opts }),
      // Poll a page-side expression until it is truthy (every 50 ms).
      waitPhone: async (src, ms = 10000) => {
        const end = Date.now() + ms;
        for (;;) {
          const v = await page.evaluate(src).catch(() => null);
          if (v) return v;
          if (Date.now() > end) return null;
          await sleep(50);
        }
      },
    };
    // eslint-disable-next-line no-eval
    const fn = eval(`(${o.src})`);
    let timer;
    const timeout = new Promise(resolve => { timer = setTimeout(() => resolve('__timeout__'), o.timeoutSec * 1000); });
    const res = await Promise.race([fn(page, o.arg, h), timeout]);
    clearTimeout(timer);
    if (o.screenshot) await page.screenshot({ path: o.screenshot }).catch(e => console.log('screenshot failed: ' + e.message));
    if (res === '__timeout__') {
      const events = await page.evaluate('window.sbPhone ? sbPhone.events : []').catch(() => []);
      return { ok: false, result: { error: 'timeout', events } };
    }
    return { ok: true, result: res === undefined ? null : res };
  } catch (e) {
    return { ok: false, result: { error: String(e && e.stack || e).slice(0, 3000) } };
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const o = parseArgs(process.argv.slice(2));
  run(o).then(({ ok, result }) => {
    const text = JSON.stringify(result, null, 2);
    if (o.out) fs.writeFileSync(o.out, text + '\n');
    console.log('RESULT ' + text);
    process.exit(ok ? 0 : 1);
  }, e => { console.error(e); process.exit(1); });
}

module.exports = { run };
