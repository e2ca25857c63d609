// In-call scenario for tests/e2e/webphone_drive.js (t_webphone_echo.sh,
// t_webphone_call.sh): one call from the webphone through real clicks, then
// the in-call controls. Argument a:
//   url         the daemon's http://host:port
//   dial        null: click "Echo test"; else type this into the dial field and click Call
//   hz          the tone the far end sends (the echo sends our own 1 kHz back)
//   echo        true when the far end echoes us (Mute must then silence what comes back)
//   screenshot  optional file for a full-page screenshot during the call
// Returns everything it saw; the shell test judges it.
async (page, a, h) => {
  const R = {};
  const phone = expr => page.evaluate(expr);
  const toneBack = `(() => { const l = sbPhone.levels();
    return l.remote && Math.abs(l.remote.peakHz - ${a.hz}) < 40 && l.remote.db > -40 && l; })()`;
  await page.goto(a.url + '/?raw=1');
  R.connected = !!await h.waitPhone('window.sbPhone && sbPhone.state.ws === "connected"', 10000);
  if (!R.connected) return R;
  const tClick = Date.now();
  if (a.dial) {
    await page.fill('#target', a.dial);
    await page.click('#call-btn');
  } else {
    await page.click('#echo-btn');
  }
  await h.waitPhone('sbPhone.state.call === "confirmed" || sbPhone.lastError', 15000);
  const tConf = Date.now();
  R.confirmed = (await phone('sbPhone.state.call')) === 'confirmed';
  R.peer = await phone('sbPhone.state.peer');
  if (!R.confirmed) {
    R.lastError = await phone('sbPhone.lastError');
    R.events = await phone('sbPhone.events');
    return R;
  }
  // the far end's tone, polled on the page's AnalyserNode every 50 ms
  R.tone = await h.waitPhone(toneBack, 5000);
  const tTone = Date.now();
  R.msConfirmedToTone = R.tone ? tTone - tConf : null;
  R.msClickToTone = R.tone ? tTone - tClick : null;
  // the on-screen meter follows on the next animation frames
  await h.waitPhone(`(() => { const t = getComputedStyle(document.querySelector('#meter-remote i')).transform;
    return t !== 'none' && t !== 'matrix(0, 0, 0, 1, 0, 0)' && +document.getElementById('meter-remote').getAttribute('aria-valuenow') > -60; })()`, 3000);
  R.ui = await page.evaluate(() => ({
    hangupVisible: !document.getElementById('hangup-btn').hidden,
    callVisible: !document.getElementById('call-btn').hidden,
    callState: document.getElementById('call-state').textContent,
    peerShown: document.getElementById('call-peer').textContent,
    remoteBar: getComputedStyle(document.querySelector('#meter-remote i')).transform,
    micBar: getComputedStyle(document.querySelector('#meter-mic i')).transform,
    remoteAria: +document.getElementById('meter-remote').getAttribute('aria-valuenow'),
  }));
  R.stats = await phone('sbPhone.stats()');

  // keypad during the call sends DTMF (RFC 2833 by default)
  for (const k of ['1', '2', '#']) await page.click(`#pad button[data-key="${k}"]`);
  await h.sleep(800);
  R.dtmfShown = await page.textContent('#dtmf-sent');
  R.dtmfEvents = await phone('sbPhone.events.filter(e => e.ev === "dtmf").map(e => e.tone).join("")');

  // mute: our microphone meter goes quiet (and an echo with it); unmute: back
  await page.click('#mute-btn');
  R.muted = { state: await phone('sbPhone.state.muted'), pressed: await page.getAttribute('#mute-btn', 'aria-pressed'),
    label: await page.textContent('#mute-btn') };
  R.micQuiet = await h.waitPhone('(() => { const l = sbPhone.levels(); return l.mic && l.mic.db < -60 && l; })()', 3000);
  if (a.echo) R.remoteQuiet = await h.waitPhone('(() => { const l = sbPhone.levels(); return l.remote && l.remote.db < -50 && l; })()', 3000);
  await page.click('#mute-btn');
  R.unmuted = await phone('!sbPhone.state.muted');
  R.toneAfterUnmute = await h.waitPhone(a.echo ? toneBack
    : '(() => { const l = sbPhone.levels(); return l.mic && l.mic.db > -30 && l; })()', 3000);

  // hold / resume (re-INVITEs through the gateway)
  await page.click('#hold-btn');
  R.held = !!await h.waitPhone('sbPhone.state.held', 5000);
  R.heldText = await page.textContent('#call-state');
  await page.click('#hold-btn');
  R.resumed = !!await h.waitPhone('!sbPhone.state.held', 5000);
  R.toneAfterResume = await h.waitPhone(toneBack, 4000);
  R.stillConfirmed = (await phone('sbPhone.state.call')) === 'confirmed';

  if (a.screenshot) await h.shot(a.screenshot, { fullPage: true });
  await h.sleep(300);
  await page.click('#hangup-btn');
  R.ended = !!await h.waitPhone('sbPhone.state.call === "ended" || sbPhone.state.call === "idle"', 5000);
  R.idle = !!await h.waitPhone('sbPhone.state.call === "idle"', 5000);
  R.log = await phone('sbPhone.callLog()[0]');
  R.lastError = await phone('sbPhone.lastError');
  R.events = await phone('sbPhone.events.map(e => e.ev + (e.state ? ":" + e.state : "") + (e.cause ? ":" + e.cause : ""))');
  return R;
}
