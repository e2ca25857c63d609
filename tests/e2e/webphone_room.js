// Conference scenario for tests/e2e/webphone_drive.js (t_webphone_room.sh):
// join room a.room through the "Join room" dialog, hear the other member's
// tone (a.hz) on the far-end meter, stay until the other member has heard us
// too (file a.work/heard.OTHER), hang up. Argument a: url, room, hz, me, other, work.
async (page, a, h) => {
  const fs = require('fs');
  const R = {};
  const hear = `(() => { const l = sbPhone.levels();
    return l.remote && Math.abs(l.remote.peakHz - ${a.hz}) < 40 && l.remote.db > -40 && l; })()`;
  await page.goto(a.url + '/?raw=1');
  R.connected = !!await h.waitPhone('window.sbPhone && sbPhone.state.ws === "connected"', 15000);
  if (!R.connected) return R;
  await page.click('#room-btn');
  R.dialogOpen = await page.isVisible('#room-dialog');
  await page.fill('#room-name', a.room);
  await page.click('#room-join');
  await h.waitPhone('sbPhone.state.call === "confirmed" || sbPhone.lastError', 20000);
  R.state = await page.evaluate('sbPhone.state');
  R.lastError = await page.evaluate('sbPhone.lastError');
  if (R.state.call !== 'confirmed') return R;
  console.log('WEBPHONE-JOINED');
  // (stop early when the call ends: nothing more to hear then)
  const got = await h.waitPhone(`${hear} || (sbPhone.state.call !== 'confirmed' && { ended: true })`, 45000);
  R.heard = got && !got.ended ? got : null;
  if (!R.heard) { R.endedEarly = await page.evaluate('sbPhone.state'); R.lastError = await page.evaluate('sbPhone.lastError'); return R; }
  fs.writeFileSync(`${a.work}/heard.${a.me}`, JSON.stringify(R.heard));
  for (let i = 0; i < 450 && !fs.existsSync(`${a.work}/heard.${a.other}`); i++) {
    if (i % 10 === 0 && await page.evaluate('sbPhone.state.call') !== 'confirmed') break;
    await h.sleep(100);
  }
  R.otherHeard = fs.existsSync(`${a.work}/heard.${a.other}`);
  await h.sleep(500);
  await page.click('#hangup-btn');
  R.idle = !!await h.waitPhone('sbPhone.state.call === "idle"', 5000);
  R.log = await page.evaluate('sbPhone.callLog()[0]');
  return R;
}
