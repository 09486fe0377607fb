"""JavaScript run in the page to measure what a person would see and hear."""

from __future__ import annotations

# Frames decoded and the decoded size over a window, from getStats.
VIDEO_RATE = """async (args) => {
  // args: seconds to count over, or [seconds, frames to have decoded before counting]
  const [seconds, warmup] = Array.isArray(args) ? args : [args, 1];
  const pc = window.avatarClient.pc;
  const read = async () => {
    for (const r of (await pc.getStats()).values())
      if (r.type === 'inbound-rtp' && r.kind === 'video') return r;
    return null;
  };
  let a = await read();
  for (let i = 0; !(a?.framesDecoded >= warmup) && i < 400; i++) {  // the first may take a moment
    await new Promise(res => setTimeout(res, 50));
    a = await read();
  }
  const t0 = performance.now();
  await new Promise(res => setTimeout(res, seconds * 1000));
  const b = await read();
  const elapsed = (performance.now() - t0) / 1000;
  return {fps: (b.framesDecoded - a.framesDecoded) / elapsed, width: b.frameWidth,
          height: b.frameHeight, codec: (await pc.getStats()).get(b.codecId)?.mimeType};
}"""

# The page's video receiver as Chromium counts it: decoded, dropped, frozen, asked for.
VIDEO_STATS = """async () => {
  for (const r of (await window.avatarClient.pc.getStats()).values())
    if (r.type === 'inbound-rtp' && r.kind === 'video')
      return {decoded: r.framesDecoded, dropped: r.framesDropped, keyframes: r.keyFramesDecoded,
              freezes: r.freezeCount, frozenS: r.totalFreezesDuration, plis: r.pliCount,
              nacks: r.nackCount, lost: r.packetsLost};
  return null;
}"""

# The colour at the centre of each quadrant of the shown video, through a canvas.
QUADRANT_PIXELS = """() => {
  const video = document.getElementById('video');
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(video, 0, 0);
  const w = canvas.width / 4, h = canvas.height / 4;
  return [[w, h], [3 * w, h], [w, 3 * h], [3 * w, 3 * h]].map(([x, y]) =>
    Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3)));
}"""

# Inbound audio figures from getStats.
AUDIO_STATS = """async () => {
  for (const r of (await window.avatarClient.pc.getStats()).values())
    if (r.type === 'inbound-rtp' && r.kind === 'audio')
      return {packets: r.packetsReceived, energy: r.totalAudioEnergy,
              concealed: r.concealedSamples, samples: r.totalSamplesReceived,
              bufferDelayS: r.jitterBufferDelay, emitted: r.jitterBufferEmittedCount,
              targetDelayS: r.jitterBufferTargetDelay,
              accelerated: r.removedSamplesForAcceleration,
              decelerated: r.insertedSamplesForDeceleration};
  return null;
}"""

# The dominant frequency of the remote audio, by an AnalyserNode, averaged over a window.
AUDIO_PITCH = """async (seconds) => {
  const stream = new MediaStream(window.avatarClient.remoteStream.getAudioTracks());
  const ctx = new AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 16384;
  analyser.smoothingTimeConstant = 0;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const bins = new Float32Array(analyser.frequencyBinCount);
  const sum = new Float32Array(analyser.frequencyBinCount);
  const end = performance.now() + seconds * 1000;
  await new Promise(res => setTimeout(res, 400));
  while (performance.now() < end) {
    analyser.getFloatFrequencyData(bins);
    for (let i = 0; i < bins.length; i++) sum[i] += Math.pow(10, bins[i] / 20);
    await new Promise(res => setTimeout(res, 100));
  }
  let k = 1;
  for (let i = 2; i < sum.length - 1; i++) if (sum[i] > sum[k]) k = i;
  const [a, b, c] = [sum[k - 1], sum[k], sum[k + 1]];
  const offset = 0.5 * (a - c) / (a - 2 * b + c);
  const hz = (k + offset) * ctx.sampleRate / analyser.fftSize;
  await ctx.close();
  return hz;
}"""

# The settings of the microphone track the page sends.
MIC_SETTINGS = """async () => {
  for (let i = 0; !window.avatarClient.localStream && i < 100; i++)
    await new Promise(res => setTimeout(res, 50));
  const track = window.avatarClient.localStream.getAudioTracks()[0];
  const s = track.getSettings();
  return {echoCancellation: s.echoCancellation, noiseSuppression: s.noiseSuppression,
          autoGainControl: s.autoGainControl};
}"""

# The level of the remote audio as the page plays it: [[unix ms, rms], ...] every ~4 ms.
AUDIO_LEVELS = """async (seconds) => {
  const stream = new MediaStream(window.avatarClient.remoteStream.getAudioTracks());
  const ctx = new AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 256;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  const levels = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    levels.push([performance.timeOrigin + performance.now(), Math.sqrt(sum / buf.length)]);
    await new Promise(res => setTimeout(res, 4));
  }
  await ctx.close();
  return levels;
}"""

# Onsets of white flashes (requestVideoFrameCallback, at expectedDisplayTime) and of beeps
# (an AnalyserNode on the remote audio), both in Unix ms, over a window.
FLASHES_AND_BEEPS = """async (seconds) => {
  // Flashes: each frame as Chromium presents it (requestVideoFrameCallback), its centre pixel
  // read back; a flash is the first bright frame, at its expected display time. Beeps: an
  // AudioWorklet finds the first loud sample (RMS of a 128-sample block over 0.05) on the
  // audio thread, so the page's main thread has nothing to do but present frames; its
  // context time is mapped to the page clock as the audio graph renders it.
  const video = document.getElementById('video');
  const canvas = document.createElement('canvas');
  canvas.width = 16; canvas.height = 16;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const flashes = [], beeps = [];
  let bright = false, running = true;
  const onFrame = (now, meta) => {
    if (!running) return;
    g.drawImage(video, 0, 0, 16, 16);
    const px = g.getImageData(8, 8, 1, 1).data;
    const isBright = px[0] + px[1] + px[2] > 600;
    if (isBright && !bright) flashes.push(performance.timeOrigin + meta.expectedDisplayTime);
    bright = isBright;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  const ctx = new AudioContext();
  await ctx.resume();
  const detector = `registerProcessor('onsets', class extends AudioWorkletProcessor {
    constructor() { super(); this.loud = false; }
    process(inputs) {
      const samples = inputs[0][0];
      if (samples) {
        let sum = 0;
        for (const v of samples) sum += v * v;
        const isLoud = Math.sqrt(sum / samples.length) > 0.05;
        if (isLoud && !this.loud) {
          const first = samples.findIndex(v => Math.abs(v) > 0.05);
          this.port.postMessage(currentTime + Math.max(first, 0) / sampleRate);
        }
        this.loud = isLoud;
      }
      return true;
    }
  });`;
  await ctx.audioWorklet.addModule(URL.createObjectURL(
    new Blob([detector], { type: 'application/javascript' })));
  const node = new AudioWorkletNode(ctx, 'onsets');
  node.port.onmessage = (e) => beeps.push(
    performance.timeOrigin + performance.now() - 1000 * (ctx.currentTime - e.data));
  ctx.createMediaStreamSource(
    new MediaStream(window.avatarClient.remoteStream.getAudioTracks())).connect(node);
  node.connect(ctx.destination);  // pulled by the graph; it outputs silence
  await new Promise(res => setTimeout(res, seconds * 1000));
  running = false;
  await ctx.close();
  return { flashes, beeps };
}"""
