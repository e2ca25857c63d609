// What every test page shares (sip.html for JsSIP and SIP.js, sipml.html
// for sipML5): the event log, waiting, the analysis of received audio and
// a summary of a peer connection's getStats(). Defines window.sb (in a
// function: each page's own script declares its own `sb`).
(() => {
'use strict';
const sb = window.sb = window.sb || {};
sb.t0 = performance.now();
sb.events = [];
sb.sleep = ms => new Promise(r => setTimeout(r, ms));
sb.AUDIO = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };

sb.emit = (who, ev, extra = {}) => {
  const e = { t: Math.round(performance.now() - sb.t0), who, ev, ...extra };
  sb.events.push(e);
  console.log('SBEVENT ' + JSON.stringify(e));
  return e;
};

// Resolve when pred() becomes true (checked on every event and every 50 ms).
sb.until = async (pred, timeoutMs = 10000) => {
  const t = performance.now();
  while (!pred()) {
    if (performance.now() - t > timeoutMs) return false;
    await sb.sleep(50);
  }
  return true;
};

// ---------------------------------------------------------------- audio analysis

// Dominant frequency and level of `stream`, power-averaged over `ms`.
// The stream must be attached to an unmuted media element first for remote
// WebRTC audio to reach WebAudio (E2E.md gotchas): call.tone() does that.
sb.measureTone = async (stream, ms = 1500) => {
  const ctx = new AudioContext();
  await ctx.resume();
  const src = ctx.createMediaStreamSource(stream);
  const an = ctx.createAnalyser();
  an.fftSize = 8192; an.smoothingTimeConstant = 0;
  src.connect(an);
  const spec = new Float32Array(an.frequencyBinCount), td = new Float32Array(an.fftSize);
  const acc = new Float64Array(an.frequencyBinCount);
  let n = 0, rmsMax = 0, rmsSum = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await sb.sleep(100);
    an.getFloatFrequencyData(spec);
    for (let i = 0; i < spec.length; i++) acc[i] += Math.pow(10, spec[i] / 10);
    an.getFloatTimeDomainData(td);
    let s = 0; for (const v of td) s += v * v;
    const rms = Math.sqrt(s / td.length);
    rmsMax = Math.max(rmsMax, rms); rmsSum += rms;
    n++;
  }
  let best = 1; for (let i = 2; i < acc.length; i++) if (acc[i] > acc[best]) best = i;
  const res = { peakHz: Math.round(best * ctx.sampleRate / an.fftSize * 10) / 10,
    peakDb: Math.round(10 * Math.log10(acc[best] / n) * 10) / 10,
    rms: Math.round(rmsMax * 1000) / 1000, rmsAvg: Math.round(rmsSum / Math.max(n, 1) * 1000) / 1000,
    sampleRate: ctx.sampleRate };
  src.disconnect();
  await ctx.close();
  return res;
};

// getStats() summary of one peer connection: inbound/outbound RTP, codec,
// selected candidate pair, DTLS/SRTP transport, RTCP feedback from the far end.
sb.pcStats = async (pc) => {
  if (!pc) return { error: 'no peer connection' };
  const stats = await pc.getStats();
  const out = { connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState };
  const codec = id => { const c = stats.get(id); return c ? `${c.mimeType}/${c.clockRate}/${c.channels || 1} pt=${c.payloadType}` : undefined; };
  stats.forEach(r => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      out.inbound = { packetsReceived: r.packetsReceived, bytesReceived: r.bytesReceived, packetsLost: r.packetsLost,
        jitter: r.jitter, audioLevel: r.audioLevel, totalAudioEnergy: r.totalAudioEnergy,
        totalSamplesReceived: r.totalSamplesReceived, concealedSamples: r.concealedSamples,
        totalSamplesDuration: r.totalSamplesDuration, codec: codec(r.codecId) };
    } else if (r.type === 'outbound-rtp' && r.kind === 'audio') {
      out.outbound = { packetsSent: r.packetsSent, bytesSent: r.bytesSent, codec: codec(r.codecId) };
    } else if (r.type === 'remote-inbound-rtp' && r.kind === 'audio') {
      out.remoteInbound = { packetsLost: r.packetsLost, fractionLost: r.fractionLost, roundTripTime: r.roundTripTime, jitter: r.jitter };
    } else if (r.type === 'remote-outbound-rtp' && r.kind === 'audio') {
      out.remoteOutbound = { packetsSent: r.packetsSent, bytesSent: r.bytesSent };
    } else if (r.type === 'transport') {
      out.transport = { dtlsState: r.dtlsState, srtpCipher: r.srtpCipher, dtlsCipher: r.dtlsCipher,
        tlsVersion: r.tlsVersion, dtlsRole: r.dtlsRole, iceState: r.iceState };
    } else if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
      const l = stats.get(r.localCandidateId), rm = stats.get(r.remoteCandidateId);
      out.selectedPair = `${l.address}:${l.port}/${l.protocol}(${l.candidateType}) <-> ${rm.address}:${rm.port}/${rm.protocol}(${rm.candidateType})`;
    }
  });
  return out;
};
})();
