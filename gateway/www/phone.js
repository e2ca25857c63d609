/* sipbridge webphone: JsSIP (vendor/jssip.min.js, the `JsSIP` global) over
 * this gateway's own WebSocket, plain DOM, no framework.
 *
 * Settings (localStorage "sipbridge.webphone.settings"): SIP URI, password,
 * display name, auth user, WebSocket URL override, DTMF method. Without a
 * URI and password the phone uses an anonymous identity
 * (sip:web-XXXXXXXX@sipbridge.invalid) and does not REGISTER.
 * URL parameters: ?raw=1 turns off echo cancellation, noise suppression and
 * AGC (tests: the audio processing attenuates steady tones), ?ws=URL
 * overrides the WebSocket URL for this visit.
 *
 * Test API: window.sbPhone (see the bottom of this file). Every state change
 * is also logged on the console as "SBPHONE {...}".
 */
'use strict';
(() => {
  const $ = id => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const RAW = params.get('raw') === '1';
  const KEY_SETTINGS = 'sipbridge.webphone.settings';
  const KEY_LOG = 'sipbridge.webphone.calls';
  const LOG_MAX = 50;
  const ANON_DOMAIN = 'sipbridge.invalid';

  const state = {
    ws: 'connecting',         // connecting | connected | disconnected
    registration: 'none',     // none | registering | registered | failed
    call: 'idle',             // idle | calling | ringing | incoming | confirmed | ended | failed
    direction: null,          // out | in
    peer: null,               // SIP URI of the other side
    muted: false,
    held: false,
    identity: null,           // our SIP URI
    anonymous: true,
  };
  let lastError = null;
  const events = [];
  let ua = null;
  let session = null;          // the one current JsSIP RTCSession
  let callRec = null;          // call log entry of the current call
  let localStream = null;
  let audioCtx = null;
  const analysers = { mic: null, remote: null };
  const t0 = performance.now();

  function emit(ev, extra = {}) {
    const e = { t: Math.round(performance.now() - t0), ev, ...extra };
    events.push(e);
    if (events.length > 500) events.shift();
    console.log('SBPHONE ' + JSON.stringify(e));
  }

  // ------------------------------------------------------------ storage

  function loadJson(key, dflt) {
    try {
      const v = JSON.parse(localStorage.getItem(key));
      return v === null || v === undefined ? dflt : v;
    } catch (e) {
      return dflt;
    }
  }
  function saveJson(key, v) {
    try { localStorage.setItem(key, JSON.stringify(v)); } catch (e) { /* private mode: keep in memory */ }
  }
  const SETTINGS_DEFAULT = { uri: '', password: '', displayName: '', authUser: '', wsUrl: '', dtmf: 'rfc2833' };
  function settings() { return { ...SETTINGS_DEFAULT, ...loadJson(KEY_SETTINGS, {}) }; }

  // ------------------------------------------------------------ errors

  // What the user reads for each failure the gateway (or the far end) reports.
  const STATUS_MSG = {
    401: ['Authentication required', 'This call needs an account. Enter your SIP URI and password in Settings.'],
    403: ['Call not allowed', 'The gateway or the PBX refused this call (403 Forbidden). Check your account in Settings.'],
    404: ['Number not found', 'Nobody can be reached at this address (404 Not Found). Check the number. Without a PBX, only the echo test and conference rooms work.'],
    407: ['Authentication required', 'The PBX asks for a password. Enter your SIP URI and password in Settings.'],
    408: ['No response', 'The other side did not respond in time (408 Request Timeout). Try again.'],
    480: ['Not available', 'The person you called cannot take calls right now (480 Temporarily Unavailable).'],
    484: ['Incomplete number', 'The number is incomplete (484 Address Incomplete).'],
    486: ['Busy', 'The line is busy (486 Busy Here). Try again later.'],
    487: ['Call cancelled', 'The call was cancelled before it was answered.'],
    488: ['No common codec', 'The other side accepts none of the audio codecs this browser offers (488 Not Acceptable Here).'],
    500: ['Gateway error', 'The gateway hit an internal error (500). Try again.'],
    503: ['Gateway busy or trunk unreachable', 'The gateway is at capacity or cannot reach the phone network right now (503 Service Unavailable). Try again in a moment.'],
    600: ['Busy everywhere', 'The person you called is busy (600).'],
    603: ['Call declined', 'The person you called declined the call (603 Decline).'],
  };
  // JsSIP failure causes that come without a SIP status of their own.
  const CAUSE_MSG = {
    'Connection Error': ['WebSocket disconnected', 'The connection to the gateway was lost during the call.'],
    'Request Timeout': ['No response', 'The gateway did not answer in time (408). Check your connection.'],
    'User Denied Media Access': ['No microphone permission', 'Allow microphone access for this page in your browser (the camera/microphone icon in the address bar), then try again.'],
    'Incompatible SDP': ['No common codec', 'The call could not agree on an audio codec (488).'],
    'Bad Media Description': ['No common codec', 'The other side sent a media description this browser cannot use.'],
    'RTP Timeout': ['Audio lost', 'No audio arrived for a while; the call was ended.'],
    'No Answer': ['No answer', 'Nobody answered the call.'],
    'Address Incomplete': ['Incomplete number', 'The number is incomplete.'],
    'Authentication Error': ['Authentication failed', 'The PBX rejected your password. Check your account in Settings.'],
    'WebRTC Error': ['Browser media error', 'The browser could not set up the audio connection.'],
    'Internal Error': ['Browser media error', 'The browser could not set up the audio connection.'],
  };

  // Show an error (or clear it with null). code: a SIP status or a short name
  // ('ws', 'mic', ...) so tests can tell the failures apart.
  function showError(code, title, detail, extra = {}) {
    lastError = { code, title, detail, ...extra, t: Date.now() };
    $('error-title').textContent = title;
    $('error-detail').textContent = detail;
    $('error').hidden = false;
    emit('error', { code, title });
  }
  function clearError(code) {
    if (code !== undefined && (!lastError || lastError.code !== code))
      return;
    $('error').hidden = true;
    lastError = null;
  }

  function sipFailure(status, reason, cause) {
    if (status && STATUS_MSG[status]) {
      const [t, d] = STATUS_MSG[status];
      return { code: status, title: t, detail: d, reason };
    }
    if (status >= 400)
      return { code: status, title: 'Call failed', detail: `The call was refused: ${status} ${reason || ''}.`.replace(' .', '.'), reason };
    if (cause && CAUSE_MSG[cause]) {
      const [t, d] = CAUSE_MSG[cause];
      const code = { 'Connection Error': 'ws', 'Request Timeout': 408, 'User Denied Media Access': 'mic', 'Incompatible SDP': 488 }[cause] || cause;
      return { code, title: t, detail: d };
    }
    return { code: cause || 'failed', title: 'Call failed', detail: `The call ended: ${cause || 'unknown reason'}.` };
  }

  function micError(err) {
    const n = err && err.name;
    if (n === 'NotAllowedError' || n === 'SecurityError')
      return ['mic', 'No microphone permission', 'Allow microphone access for this page in your browser (the camera/microphone icon in the address bar), then try again.'];
    if (n === 'NotFoundError' || n === 'OverconstrainedError')
      return ['mic', 'No microphone found', 'Connect a microphone or headset, then try again.'];
    if (n === 'NotReadableError')
      return ['mic', 'Microphone busy', 'Another application is using the microphone. Close it and try again.'];
    return ['mic', 'Microphone unavailable', String(err && err.message || err)];
  }

  // ------------------------------------------------------------ status line

  function setStatus() {
    const el = $('status');
    let s, text;
    if (state.ws === 'connecting') { s = 'connecting'; text = 'Connecting to the gateway…'; }
    else if (state.ws === 'disconnected') { s = 'disconnected'; text = 'Disconnected from the gateway. Reconnecting…'; }
    else if (state.registration === 'registered') { s = 'registered'; text = 'Connected · registered as ' + shortUri(state.identity); }
    else if (state.registration === 'registering') { s = 'connecting'; text = 'Connected · registering…'; }
    else if (state.registration === 'failed') { s = 'failed'; text = 'Connected · registration failed'; }
    else { s = 'connected'; text = 'Connected'; }
    el.dataset.state = s;
    $('status-text').textContent = text;
    let who = '\u00a0';
    if (state.identity && state.identity === anonUri)
      who = `Guest ${/^sip:([^@]+)/.exec(anonUri)[1]} · outgoing calls only`;
    else if (state.identity && state.anonymous)
      who = `${shortUri(state.identity)} · no password, not registered`;
    else if (state.identity)
      who = shortUri(state.identity);
    $('identity').textContent = who;
  }
  function shortUri(u) { return String(u || '').replace(/^sips?:/, ''); }

  // ------------------------------------------------------------ UA

  function defaultWsUrl() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/';
  }
  // A gateway that requires WebSocket tokens (auth.token_secrets) wants
  // ?user=EXPIRY:USER&token=MAC on the WebSocket URL: a web application
  // links to this page with both, and they are passed on as they came.
  function withToken(u) {
    const user = params.get('user'), token = params.get('token');
    if (!user || !token) return u;
    try {
      const url = new URL(u);
      url.searchParams.set('user', user);
      url.searchParams.set('token', token);
      return url.toString();
    } catch (e) {
      return u;
    }
  }
  let everConnected = false;
  function randomUser() {
    const b = new Uint8Array(5);
    crypto.getRandomValues(b);
    return 'web-' + Array.from(b, x => x.toString(36).padStart(2, '0')).join('').slice(0, 8);
  }
  const anonUri = 'sip:' + randomUser() + '@' + ANON_DOMAIN;

  function startUA() {
    stopUA();
    const st = settings();
    const wsUrl = withToken(params.get('ws') || st.wsUrl || defaultWsUrl());
    const shownUrl = wsUrl.replace(/\?.*$/, '');     // never show the token
    const account = !!(st.uri && st.password);
    state.anonymous = !account;
    state.identity = st.uri || anonUri;
    state.ws = 'connecting';
    state.registration = account ? 'registering' : 'none';
    setStatus();
    let socket;
    try {
      socket = new JsSIP.WebSocketInterface(wsUrl);
      ua = new JsSIP.UA({
        sockets: [socket], uri: state.identity,
        password: account ? st.password : undefined,
        authorization_user: account && st.authUser ? st.authUser : undefined,
        display_name: st.displayName || undefined,
        register: account, register_expires: 600, session_timers: false,
        connection_recovery_min_interval: 2, connection_recovery_max_interval: 16,
        user_agent: 'sipbridge-webphone JsSIP/' + JsSIP.version,
      });
    } catch (e) {
      ua = null;
      state.ws = 'disconnected';
      setStatus();
      showError('config', 'Settings need a fix', `${e.message || e}. Check the SIP URI and WebSocket URL in Settings.`);
      return;
    }
    ua.on('connecting', () => { if (state.ws !== 'connected') { state.ws = 'connecting'; setStatus(); } });
    ua.on('connected', () => {
      state.ws = 'connected';
      everConnected = true;
      clearError('ws');
      setStatus();
      emit('ws', { state: 'connected', url: shownUrl });
      if (!account) greetGateway(wsUrl);
    });
    ua.on('disconnected', e => {
      const was = state.ws;
      state.ws = 'disconnected';
      setStatus();
      emit('ws', { state: 'disconnected', error: !!(e && e.error) });
      if (was === 'connected')
        showError('ws', 'WebSocket disconnected', `Lost the connection to the gateway (${shownUrl}). Reconnecting…`);
      else if (!lastError || lastError.code === 'ws')
        showError('ws', 'WebSocket disconnected', everConnected
          ? `Cannot reach the gateway (${shownUrl}). Retrying…`
          : `Cannot connect to the gateway (${shownUrl}). It may be down, or it may only accept visitors who open this page from their application's link (a login token)` +
            (params.get('token') ? ', and the token in this link was refused or has expired.' : '.') + ' Retrying…');
    });
    ua.on('registered', () => {
      state.registration = 'registered';
      clearError('register');
      setStatus();
      emit('registered');
    });
    ua.on('unregistered', () => { if (state.registration === 'registered') { state.registration = 'none'; setStatus(); } });
    ua.on('registrationFailed', e => {
      state.registration = 'failed';
      setStatus();
      const status = e.response && e.response.status_code;
      const f = sipFailure(status, e.response && e.response.reason_phrase, e.cause);
      showError('register', 'Registration failed: ' + f.title.toLowerCase(), f.detail, { status });
    });
    ua.on('newRTCSession', e => { if (e.originator === 'remote') onIncoming(e.session, e.request); });
    ua.start();
  }

  // The gateway closes a WebSocket that sends no SIP message within its
  // first seconds (limits.ws_first_message_ms). Without an account nothing
  // would be sent until the first call, so say hello with an OPTIONS to the
  // gateway itself (a Request-URI without user: the gateway answers it).
  function greetGateway(wsUrl) {
    let host;
    try { host = new URL(wsUrl).hostname; } catch (e) { return; }
    try {
      ua.sendOptions(new JsSIP.URI('sip', null, host), null, { eventHandlers: {
        succeeded: e => emit('options', { status: e.response && e.response.status_code }),
        failed: e => emit('options', { status: e.response && e.response.status_code, cause: e.cause }),
      } });
    } catch (e) {
      emit('options', { error: String(e.message || e) });
    }
  }

  function stopUA() {
    if (!ua) return;
    if (session) hangup();
    const old = ua;
    ua = null;
    old.removeAllListeners();
    old.stop();
  }

  // ------------------------------------------------------------ media

  function audioConstraints() {
    return RAW ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false } : true;
  }

  function ctx() {
    if (!audioCtx) audioCtx = new (window.AudioContext || window.webkitAudioContext)();
    if (audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
    return audioCtx;
  }

  function makeAnalyser(stream) {
    const c = ctx();
    const src = c.createMediaStreamSource(stream);
    const an = c.createAnalyser();
    an.fftSize = 4096;               // ~12 Hz bins at 48 kHz: enough to tell 1 kHz apart
    an.smoothingTimeConstant = 0.3;
    src.connect(an);
    return { src, an, td: new Float32Array(an.fftSize), fd: new Float32Array(an.frequencyBinCount) };
  }
  function dropAnalyser(name) {
    const a = analysers[name];
    if (a) { try { a.src.disconnect(); } catch (e) { /* already gone */ } }
    analysers[name] = null;
  }

  // Level (RMS in dBFS) and dominant frequency of one analyser, right now.
  function measure(a) {
    if (!a) return null;
    a.an.getFloatTimeDomainData(a.td);
    let s = 0;
    for (const v of a.td) s += v * v;
    const rms = Math.sqrt(s / a.td.length);
    a.an.getFloatFrequencyData(a.fd);
    const hzPerBin = a.an.context.sampleRate / a.an.fftSize;
    let best = Math.ceil(80 / hzPerBin);          // skip DC and hum
    for (let i = best + 1; i < a.fd.length; i++) if (a.fd[i] > a.fd[best]) best = i;
    return {
      rms: Math.round(rms * 10000) / 10000,
      db: rms > 0 ? Math.round(20 * Math.log10(rms) * 10) / 10 : -120,
      peakHz: Math.round(best * hzPerBin * 10) / 10,
      peakDb: Math.round(a.fd[best] * 10) / 10,
    };
  }

  async function getMic() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
      throw Object.assign(new Error('This page needs HTTPS (or localhost) to use the microphone.'), { name: 'InsecureContext' });
    return navigator.mediaDevices.getUserMedia({ audio: audioConstraints(), video: false });
  }

  function attachRemote(pc) {
    if (!pc) return;
    const tracks = pc.getReceivers().map(r => r.track).filter(t => t && t.kind === 'audio');
    if (!tracks.length) return;
    const el = $('remote-audio');
    if (el.srcObject && el.srcObject.getAudioTracks()[0] === tracks[0]) return;
    const stream = new MediaStream(tracks);
    // The element plays the audio; Chromium also needs it for WebAudio to
    // see remote WebRTC audio at all.
    el.srcObject = stream;
    el.play().catch(e => emit('audio-play-error', { reason: String(e) }));
    dropAnalyser('remote');
    analysers.remote = makeAnalyser(stream);
    emit('remote-audio');
  }

  function watchPc(pc) {
    pc.addEventListener('track', () => attachRemote(pc));
    attachRemote(pc);
  }

  function releaseMedia() {
    dropAnalyser('mic');
    dropAnalyser('remote');
    if (localStream) localStream.getTracks().forEach(t => t.stop());
    localStream = null;
    const el = $('remote-audio');
    el.srcObject = null;
  }

  // ------------------------------------------------------------ meters

  const meterEls = { mic: null, remote: null };
  let meterFrame = 0;
  function drawMeters() {
    meterFrame++;
    for (const name of ['mic', 'remote']) {
      const m = measure(analysers[name]);
      const db = m ? Math.max(-60, Math.min(0, m.db)) : -60;
      const el = meterEls[name];
      el.firstElementChild.style.transform = `scaleX(${(db + 60) / 60})`;
      if (meterFrame % 15 === 0) {
        el.setAttribute('aria-valuenow', String(Math.round(db)));
        el.setAttribute('aria-valuetext', db <= -59 ? 'silent' : `${Math.round(db)} dB`);
      }
    }
    if (analysers.mic || analysers.remote) requestAnimationFrame(drawMeters);
    else meterRunning = false;
  }
  let meterRunning = false;
  function startMeters() {
    if (meterRunning) return;
    meterRunning = true;
    requestAnimationFrame(drawMeters);
  }

  // ------------------------------------------------------------ calls

  // Turn what the user typed into something JsSIP can dial: full SIP URIs
  // and user@host stay as they are; a bare number or name goes to the
  // account's domain, or to this gateway's host without an account.
  function targetOf(input) {
    const s = String(input || '').trim();
    if (!s) return null;
    if (/^sips?:/i.test(s) || s.includes('@')) return s.replace(/^sips?:/i, '');
    const st = settings();
    let host = location.hostname;
    if (st.uri && st.password) {
      const m = /@([^;>]+)/.exec(st.uri);
      if (m) host = m[1];
    }
    return `${s.replace(/[\s()-]/g, '')}@${host}`;
  }

  function callOptions() {
    return {
      mediaStream: localStream,
      pcConfig: { iceServers: [] },
      rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
    };
  }

  let dialing = false;           // between the click and ua.call(): waiting for the microphone
  let cancelDial = false;        // Hang up pressed while dialing
  async function dial(input) {
    if (session || dialing) return { ok: false, reason: 'already in a call' };
    const target = targetOf(input);
    if (!target) {
      showError('input', 'Nothing to call', 'Enter a number or a SIP address, or use the echo test.');
      return { ok: false, reason: 'empty' };
    }
    if (!ua || state.ws !== 'connected') {
      showError('ws', 'WebSocket disconnected', 'Not connected to the gateway yet. Wait for the status line to say "Connected" and try again.');
      return { ok: false, reason: 'not connected' };
    }
    clearError();
    ctx();                                     // created inside the click: autoplay policy
    dialing = true;
    setCall('calling', { direction: 'out', peer: 'sip:' + target });
    try {
      localStream = await getMic();
    } catch (err) {
      dialing = false;
      const [code, t, d] = micError(err);
      setCall('failed');
      logCall({ dir: 'out', uri: 'sip:' + target, result: 'failed', code: 'mic' });
      showError(code, t, d);
      setCall('idle');
      return { ok: false, reason: 'microphone' };
    }
    dialing = false;
    if (cancelDial) {            // hung up while the browser asked for the microphone
      cancelDial = false;
      releaseMedia();
      setCall('idle');
      return { ok: false, reason: 'cancelled' };
    }
    analysers.mic = makeAnalyser(localStream);
    startMeters();
    let s;
    try {
      s = ua.call(target, { ...callOptions(), eventHandlers: { peerconnection: e => watchPc(e.peerconnection) } });
    } catch (err) {
      releaseMedia();
      setCall('idle');
      showError('input', 'Cannot call this address', `"${input}" is not a valid number or SIP address.`);
      return { ok: false, reason: 'bad target' };
    }
    state.peer = s.remote_identity ? s.remote_identity.uri.toString() : 'sip:' + target;
    bindSession(s, 'out');
    return { ok: true, target: state.peer };
  }

  function onIncoming(s, request) {
    if (session || dialing) {
      s.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
      logCall({ dir: 'in', uri: s.remote_identity.uri.toString(), name: s.remote_identity.display_name, result: 'missed', code: 486 });
      return;
    }
    bindSession(s, 'in');
    const who = s.remote_identity;
    setCall('incoming', { direction: 'in', peer: who.uri.toString() });
    $('incoming-from').textContent = who.display_name ? `${who.display_name} <${shortUri(who.uri)}>` : shortUri(who.uri);
    emit('incoming', { from: who.uri.toString(), callId: request && request.call_id });
  }

  async function answer() {
    if (!session || state.call !== 'incoming') return { ok: false, reason: 'no incoming call' };
    const s = session;
    ctx();
    try {
      localStream = await getMic();
    } catch (err) {
      const [code, t, d] = micError(err);
      s.terminate({ status_code: 480, reason_phrase: 'No Microphone' });
      showError(code, t, d);
      return { ok: false, reason: 'microphone' };
    }
    if (session !== s) { releaseMedia(); return { ok: false, reason: 'call gone' }; }
    analysers.mic = makeAnalyser(localStream);
    startMeters();
    s.on('peerconnection', e => watchPc(e.peerconnection));
    s.answer(callOptions());
    if (s.connection) watchPc(s.connection);
    setCall('calling');
    return { ok: true };
  }

  function decline() {
    if (!session || state.call !== 'incoming') return { ok: false };
    callRec.result = 'declined';
    session.terminate({ status_code: 603, reason_phrase: 'Decline' });
    return { ok: true };
  }

  function hangup() {
    if (!session && dialing) { cancelDial = true; return { ok: true }; }
    if (!session) return { ok: false };
    try { session.terminate(); } catch (e) { endSession('ended', null); }
    return { ok: true };
  }

  function bindSession(s, dir) {
    session = s;
    callRec = { t: Date.now(), dir, uri: s.remote_identity.uri.toString(), name: s.remote_identity.display_name || '', result: 'failed' };
    s.on('progress', e => {
      const code = e.response && e.response.status_code;
      if (dir === 'out') setCall('ringing', { status: code });
    });
    s.on('accepted', () => { if (s.connection) attachRemote(s.connection); });
    s.on('confirmed', () => {
      callRec.result = 'answered';
      callRec.answered = Date.now();
      if (s.connection) watchPc(s.connection);
      setCall('confirmed');
    });
    s.on('hold', e => { if (e.originator === 'local') { state.held = true; updateCallUi(); emit('hold', { on: true }); } });
    s.on('unhold', e => { if (e.originator === 'local') { state.held = false; updateCallUi(); emit('hold', { on: false }); } });
    s.on('muted', () => { state.muted = true; updateCallUi(); });
    s.on('unmuted', () => { state.muted = false; updateCallUi(); });
    s.on('newDTMF', e => { if (e.originator === 'local') emit('dtmf', { tone: e.dtmf.tone, method: 'info' }); });
    s.on('ended', e => {
      emit('ended', { cause: e.cause, originator: e.originator });
      endSession('ended', null);
    });
    s.on('failed', e => {
      const status = e.message && e.message.status_code;
      const reason = e.message && e.message.reason_phrase;
      emit('failed', { cause: e.cause, status, reason, originator: e.originator });
      let f = null;
      if (dir === 'in') {
        // declined here, cancelled by the caller, or answered elsewhere
        if (callRec.result !== 'declined') callRec.result = 'missed';
      } else if (e.cause === 'Canceled') {
        callRec.result = 'cancelled';
      } else {
        f = sipFailure(status, reason, e.cause);
      }
      callRec.code = status || e.cause;
      endSession('failed', f);
    });
  }

  function endSession(how, failure) {
    if (callRec) {
      if (callRec.answered) callRec.dur = Math.round((Date.now() - callRec.answered) / 1000);
      logCall(callRec);
    }
    session = null;
    callRec = null;
    releaseMedia();
    state.muted = false;
    state.held = false;
    setCall(how);
    if (failure) showError(failure.code, failure.title, failure.detail, { status: typeof failure.code === 'number' ? failure.code : undefined, reason: failure.reason });
    // Show "Call ended" for a moment, then back to the dial pad.
    setTimeout(() => { if (!session && !dialing) setCall('idle'); }, 1500);
  }

  function setCall(st, extra = {}) {
    state.call = st;
    if (extra.direction !== undefined) state.direction = extra.direction;
    if (extra.peer !== undefined) state.peer = extra.peer;
    if (st === 'idle') { state.direction = null; state.peer = null; }
    emit('call', { state: st, ...extra });
    updateCallUi();
  }

  const CALL_TEXT = {
    calling: 'Calling…', ringing: 'Ringing…', incoming: 'Incoming call', confirmed: 'In call',
    ended: 'Call ended', failed: 'Call failed',
  };

  function updateCallUi() {
    const st = state.call;
    const active = !!session || dialing;
    const inCall = st === 'confirmed';
    $('incoming').hidden = st !== 'incoming';
    ring(st === 'incoming');
    $('callinfo').hidden = st === 'idle' || st === 'incoming';
    $('call-peer').textContent = state.peer ? shortUri(state.peer) : '';
    $('call-state').textContent = (state.held && inCall ? 'On hold' : CALL_TEXT[st] || '') + (state.muted && inCall ? ' · muted' : '');
    $('call-btn').hidden = active;
    $('hangup-btn').hidden = !active || st === 'incoming';
    $('mute-btn').disabled = !inCall;
    $('hold-btn').disabled = !inCall;
    $('mute-btn').setAttribute('aria-pressed', String(state.muted));
    $('hold-btn').setAttribute('aria-pressed', String(state.held));
    $('mute-btn').querySelector('.lbl').textContent = state.muted ? 'Unmute' : 'Mute';
    $('mute-btn').querySelector('use').setAttribute('href', state.muted ? '#i-mic-off' : '#i-mic');
    $('hold-btn').querySelector('.lbl').textContent = state.held ? 'Resume' : 'Hold';
    $('echo-btn').disabled = active;
    $('room-btn').disabled = active;
    $('dial-form').hidden = active;
    $('pad').hidden = st === 'incoming';            // Accept / Decline are the only actions then
    document.querySelector('.controls').hidden = st === 'incoming';
    $('pad').setAttribute('aria-label', inCall ? 'Keypad: send tones' : 'Dial pad');
    if (!active) $('dtmf-sent').textContent = '';
    document.title = st === 'incoming' ? 'Incoming call · sipbridge' : inCall ? 'In call · sipbridge' : 'sipbridge webphone';
    tickTimer();
  }

  // Ring while a call is offered: a 440+480 Hz double burst every 3 s, as
  // long as the browser lets the page play sound.
  let ringTimer = 0;
  function ring(on) {
    if (on === !!ringTimer) return;
    clearInterval(ringTimer);
    ringTimer = 0;
    if (!on) return;
    const burst = () => {
      try {
        const c = ctx();
        const g = c.createGain();
        g.gain.value = 0;
        g.connect(c.destination);
        const t = c.currentTime;
        for (const start of [t, t + 0.6]) {
          g.gain.setValueAtTime(0.08, start);
          g.gain.setValueAtTime(0, start + 0.4);
        }
        for (const hz of [440, 480]) {
          const o = c.createOscillator();
          o.frequency.value = hz;
          o.connect(g);
          o.start(t);
          o.stop(t + 1.1);
        }
      } catch (e) { /* no audio output: the banner still shows */ }
      if (navigator.vibrate) navigator.vibrate([400, 200, 400]);
    };
    burst();
    ringTimer = setInterval(burst, 3000);
  }

  let timerId = 0;
  function tickTimer() {
    clearInterval(timerId);
    const show = () => {
      const a = callRec && callRec.answered;
      if (!a || state.call !== 'confirmed') { $('call-timer').textContent = ''; return; }
      const s = Math.floor((Date.now() - a) / 1000);
      $('call-timer').textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    };
    show();
    if (state.call === 'confirmed') timerId = setInterval(show, 1000);
  }

  const dtmfWatched = new WeakSet();
  function sendDtmf(tones) {
    if (!session || state.call !== 'confirmed') return { ok: false, reason: 'not in a call' };
    const method = settings().dtmf === 'info' ? 'INFO' : 'RFC2833';
    if (method === 'RFC2833') {
      // JsSIP hands RFC 2833 tones to the browser's RTCDTMFSender and
      // reports nothing: watch the sender, and say so when it cannot send.
      const pc = session.connection;
      const snd = pc && pc.getSenders().find(x => x.track && x.track.kind === 'audio' && x.dtmf);
      if (!snd || !snd.dtmf.canInsertDTMF)
        return { ok: false, reason: 'this call cannot send RTP tone events' };
      if (!dtmfWatched.has(snd.dtmf)) {
        dtmfWatched.add(snd.dtmf);
        snd.dtmf.addEventListener('tonechange', e => { if (e.tone) emit('dtmf', { tone: e.tone, method: 'rfc2833' }); });
      }
    }
    try {
      session.sendDTMF(tones, { transportType: method, duration: 120, interToneGap: 70 });
    } catch (e) {
      return { ok: false, reason: String(e.message || e) };
    }
    const el = $('dtmf-sent');
    el.textContent = (el.textContent + tones).slice(-20);
    return { ok: true, method };
  }

  function setMute(on) {
    if (!session || state.call !== 'confirmed') return { ok: false };
    if (on === undefined) on = !state.muted;
    if (on) session.mute({ audio: true }); else session.unmute({ audio: true });
    return { ok: true, muted: on };
  }

  function setHold(on) {
    if (!session || state.call !== 'confirmed') return { ok: false };
    if (on === undefined) on = !state.held;
    const done = on ? session.hold() : session.unhold();
    return { ok: done };
  }

  // ------------------------------------------------------------ call log

  function logCall(rec) {
    const log = loadJson(KEY_LOG, []);
    log.unshift({ t: rec.t || Date.now(), dir: rec.dir, uri: rec.uri, name: rec.name || '', result: rec.result, code: rec.code, dur: rec.dur });
    saveJson(KEY_LOG, log.slice(0, LOG_MAX));
    renderLog();
  }

  const RESULT_TEXT = { answered: 'Answered', failed: 'Failed', missed: 'Missed', declined: 'Declined', cancelled: 'Cancelled' };

  function renderLog() {
    const log = loadJson(KEY_LOG, []);
    const ol = $('log');
    ol.textContent = '';
    $('log-empty').hidden = log.length > 0;
    $('log-clear').hidden = log.length === 0;
    for (const r of log.slice(0, 20)) {
      const li = document.createElement('li');
      const ok = r.result === 'answered';
      const dir = document.createElement('span');
      dir.className = 'dir ' + (ok ? 'ok' : 'bad');
      dir.innerHTML = `<svg aria-hidden="true"><use href="#i-${r.dir === 'in' ? 'in' : 'out'}"/></svg>`;
      const who = document.createElement('div');
      who.className = 'who';
      const b = document.createElement('b');
      b.textContent = r.name || shortUri(r.uri);
      b.title = r.uri;
      const sub = document.createElement('span');
      const when = new Date(r.t);
      const day = when.toDateString() === new Date().toDateString()
        ? when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
        : when.toLocaleDateString([], { month: 'short', day: 'numeric' });
      const detail = ok ? (r.dur !== undefined ? `${Math.floor(r.dur / 60)}:${String(r.dur % 60).padStart(2, '0')}` : '')
        : (typeof r.code === 'number' ? String(r.code) : '');
      sub.textContent = [r.dir === 'in' ? 'Incoming' : 'Outgoing', RESULT_TEXT[r.result] || r.result, detail, day].filter(Boolean).join(' · ');
      who.append(b, sub);
      const redial = document.createElement('button');
      redial.type = 'button';
      redial.className = 'redial';
      redial.setAttribute('aria-label', 'Call ' + shortUri(r.uri) + ' again');
      redial.innerHTML = '<svg aria-hidden="true"><use href="#i-phone"/></svg>';
      redial.addEventListener('click', () => { if (!session) { $('target').value = shortUri(r.uri); dial(r.uri); } });
      li.append(dir, who, redial);
      ol.append(li);
    }
  }

  // ------------------------------------------------------------ settings UI

  function fillSettings() {
    const st = settings();
    $('set-uri').value = st.uri;
    $('set-password').value = st.password;
    $('set-name').value = st.displayName;
    $('set-authuser').value = st.authUser;
    $('set-ws').value = st.wsUrl;
    $('set-ws').placeholder = defaultWsUrl();   // without the token: never shown
    $('set-dtmf').value = st.dtmf;
    $('settings-hint').textContent = st.uri && st.password ? shortUri(st.uri) : 'no account';
  }

  function saveSettings(values) {
    const cur = settings();
    const next = { ...cur, ...values };
    for (const k of Object.keys(SETTINGS_DEFAULT)) next[k] = String(next[k] || '').trim();
    if (!next.dtmf) next.dtmf = 'rfc2833';
    if (next.uri && !/^sips?:/i.test(next.uri)) next.uri = 'sip:' + next.uri;
    if (next.uri && !/^sips?:[^@\s]+@[^@\s]+$/i.test(next.uri))
      return { ok: false, field: 'set-uri', message: 'The SIP URI must look like sip:alice@example.com.' };
    if (next.wsUrl && !/^wss?:\/\/[^\s]+$/i.test(next.wsUrl))
      return { ok: false, field: 'set-ws', message: 'The WebSocket URL must start with ws:// or wss://.' };
    if (next.password && !next.uri)
      return { ok: false, field: 'set-uri', message: 'A password needs a SIP URI.' };
    const reconnect = ['uri', 'password', 'displayName', 'authUser', 'wsUrl'].some(k => next[k] !== cur[k]);
    saveJson(KEY_SETTINGS, next);
    fillSettings();
    if (reconnect) startUA();
    emit('settings', { account: !!(next.uri && next.password), reconnect });
    return { ok: true, reconnect };
  }

  function formMsg(text, good) {
    const m = $('settings-msg');
    m.textContent = text;
    m.className = 'form-msg ' + (good ? 'good' : 'bad');
  }

  // ------------------------------------------------------------ wiring

  function pressKey(k) {
    if (session && state.call === 'confirmed') {
      sendDtmf(k);
    } else if (!session) {
      const t = $('target');
      t.value += k;
    }
    keyFeedback(k);
  }

  // A short local key tone, so presses are heard (quiet, not sent anywhere).
  const DTMF_HZ = { 1: [697, 1209], 2: [697, 1336], 3: [697, 1477], 4: [770, 1209], 5: [770, 1336], 6: [770, 1477],
    7: [852, 1209], 8: [852, 1336], 9: [852, 1477], '*': [941, 1209], 0: [941, 1336], '#': [941, 1477] };
  function keyFeedback(k) {
    const btn = document.querySelector(`.pad button[data-key="${CSS.escape(k)}"]`);
    if (btn) { btn.classList.add('hit'); setTimeout(() => btn.classList.remove('hit'), 120); }
    const f = DTMF_HZ[k];
    if (!f) return;
    try {
      const c = ctx();
      const g = c.createGain();
      g.gain.value = 0.04;
      g.connect(c.destination);
      for (const hz of f) {
        const o = c.createOscillator();
        o.frequency.value = hz;
        o.connect(g);
        o.start();
        o.stop(c.currentTime + 0.09);
      }
    } catch (e) { /* no audio output: fine */ }
  }

  function openRoomDialog() {
    if (session) return;
    const d = $('room-dialog');
    $('room-name').value = '';
    if (typeof d.showModal === 'function') d.showModal(); else d.setAttribute('open', '');
    $('room-name').focus();
  }

  function roomUri(name) { return `conf-${name}@${location.hostname}`; }
  function echoUri() { return `echo@${location.hostname}`; }

  function wire() {
    meterEls.mic = $('meter-mic');
    meterEls.remote = $('meter-remote');
    $('pad').addEventListener('click', e => {
      const b = e.target.closest('button[data-key]');
      if (b) pressKey(b.dataset.key);
    });
    $('dial-form').addEventListener('submit', e => { e.preventDefault(); dial($('target').value); });
    $('call-btn').addEventListener('click', () => dial($('target').value));
    $('hangup-btn').addEventListener('click', hangup);
    $('backspace').addEventListener('click', () => { const t = $('target'); t.value = t.value.slice(0, -1); });
    $('mute-btn').addEventListener('click', () => setMute());
    $('hold-btn').addEventListener('click', () => setHold());
    $('accept-btn').addEventListener('click', answer);
    $('decline-btn').addEventListener('click', decline);
    $('echo-btn').addEventListener('click', () => dial(echoUri()));
    $('room-btn').addEventListener('click', openRoomDialog);
    $('error-close').addEventListener('click', () => clearError());
    $('room-cancel').addEventListener('click', () => $('room-dialog').close());
    $('room-form').addEventListener('submit', e => {
      e.preventDefault();
      const inp = $('room-name');
      if (!inp.checkValidity()) { inp.reportValidity(); return; }
      $('room-dialog').close();
      dial(roomUri(inp.value.trim()));
    });
    $('settings-form').addEventListener('submit', e => {
      e.preventDefault();
      const r = saveSettings({
        uri: $('set-uri').value, password: $('set-password').value, displayName: $('set-name').value,
        authUser: $('set-authuser').value, wsUrl: $('set-ws').value, dtmf: $('set-dtmf').value,
      });
      if (r.ok) formMsg(r.reconnect ? 'Saved. Reconnecting…' : 'Saved.', true);
      else { formMsg(r.message, false); $(r.field).focus(); }
    });
    $('settings-forget').addEventListener('click', () => {
      const r = saveSettings({ uri: '', password: '', displayName: '', authUser: '' });
      formMsg(r.ok ? 'Account removed. Calling without registering.' : r.message, r.ok);
    });
    $('log-clear').addEventListener('click', () => { saveJson(KEY_LOG, []); renderLog(); });
    // Keys 0-9 * # send tones during a call when no text field has focus.
    document.addEventListener('keydown', e => {
      if (e.target.closest && e.target.closest('input, select, textarea, dialog')) return;
      if (/^[0-9*#]$/.test(e.key) && session && state.call === 'confirmed') pressKey(e.key);
      if (e.key === 'Escape' && session && state.call !== 'incoming') hangup();
    });
    window.addEventListener('beforeunload', () => { if (ua) ua.stop(); });
  }

  // ------------------------------------------------------------ test API
  //
  // window.sbPhone, for e2e tests and the browser console:
  //   state        snapshot { ws: connecting|connected|disconnected,
  //                registration: none|registering|registered|failed,
  //                call: idle|calling|ringing|incoming|confirmed|ended|failed,
  //                direction, peer, muted, held, identity, anonymous }
  //   lastError    null or { code: SIP status | 'ws' | 'mic' | 'input' | ..., title, detail }
  //   events       the "SBPHONE" event log (last 500)
  //   levels()     { mic, remote }: null, or { rms, db (dBFS), peakHz, peakDb } right now
  //   dial(input), hangup(), answer(), decline(), dtmf('12#'), mute(on), hold(on),
  //   echoTest(), joinRoom(name)            same paths as the buttons
  //   settings(), saveSettings({ uri, password, displayName, authUser, wsUrl, dtmf })
  //   reconnect(), callLog(), stats() (getStats summary), statusText()

  window.sbPhone = {
    get state() { return { ...state }; },
    get lastError() { return lastError && { ...lastError }; },
    get events() { return events.slice(); },
    get raw() { return RAW; },
    statusText: () => $('status-text').textContent,
    // { mic, remote }: each null (no audio) or { rms, db, peakHz, peakDb }
    levels: () => ({ mic: measure(analysers.mic), remote: measure(analysers.remote) }),
    dial, hangup, answer, decline,
    dtmf: sendDtmf,
    mute: on => setMute(on === undefined ? true : !!on),
    hold: on => setHold(on === undefined ? true : !!on),
    echoTest: () => dial(echoUri()),
    joinRoom: name => dial(roomUri(name)),
    settings,
    saveSettings,
    reconnect: startUA,
    callLog: () => loadJson(KEY_LOG, []),
    stats: async () => {
      const pc = session && session.connection;
      if (!pc) return null;
      const out = {};
      (await pc.getStats()).forEach(r => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') out.inbound = { packetsReceived: r.packetsReceived, audioLevel: r.audioLevel };
        if (r.type === 'outbound-rtp' && r.kind === 'audio') out.outbound = { packetsSent: r.packetsSent };
        if (r.type === 'transport') out.dtlsState = r.dtlsState;
      });
      return out;
    },
  };

  function boot() {
    wire();
    fillSettings();
    renderLog();
    updateCallUi();
    if (typeof JsSIP === 'undefined') {
      state.ws = 'disconnected';
      setStatus();
      showError('bundle', 'Phone library missing', 'vendor/jssip.min.js did not load. Build it with scripts/bundle-www.sh.');
      return;
    }
    startUA();
  }
  boot();
})();
