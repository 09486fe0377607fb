/*
 * The page's microphone: asking for it (with a time limit on the permission prompt),
 * stopping streams, and the level meter under the video (an AnalyserNode on the local
 * stream, drawn once per animation frame).
 *
 * No page state here: client.js drives it (window.AvatarMic) and tells it where notes
 * and the meter go.
 */
(() => {
  'use strict';

  // An unanswered permission prompt must not keep the avatar from starting.
  const MIC_TIMEOUT_MS = 15000;

  /**
   * Resolves to a MediaStream with one audio track, or null (with a note shown).
   * `processing`: browser echo cancellation / noise suppression / AGC; `setNote(text)`
   * shows a line about the microphone ('' clears it).
   */
  async function acquire(processing, setNote) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setNote('Microphone unavailable: browsers allow it only on https:// or http://localhost. Receiving only.');
      return null;
    }
    // Processing is off by default: the server's speech recognizer wants the raw signal.
    const constraints = {
      audio: {
        echoCancellation: processing,
        noiseSuppression: processing,
        autoGainControl: processing,
      },
    };

    setNote('Waiting for microphone permission…');
    const request = navigator.mediaDevices.getUserMedia(constraints);
    let timer = null;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), MIC_TIMEOUT_MS);
    });
    try {
      const result = await Promise.race([request, timeout]);
      if (result === 'timeout') {
        request.then(stopStream, () => {}); // a late grant must not leave the mic open
        setNote('Microphone permission not answered in time; receiving only. Reconnect to try again.');
        return null;
      }
      setNote('');
      return result;
    } catch (err) {
      setNote(`Microphone unavailable (${describeError(err)}); receiving only.`);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  function describeError(err) {
    switch (err && err.name) {
      case 'NotAllowedError':
        return 'permission denied';
      case 'NotFoundError':
      case 'OverconstrainedError':
        return 'no microphone found';
      case 'NotReadableError':
        return 'the device is busy or failed';
      case 'SecurityError':
        return 'blocked by the browser';
      default:
        return (err && (err.message || err.name)) || String(err);
    }
  }

  function stopStream(stream) {
    if (stream) for (const track of stream.getTracks()) track.stop();
  }

  /** The level bar: `fill` is scaled 0..1 along x with the microphone's loudness. */
  class Meter {
    constructor(fill) {
      this.fill = fill;
      this.ctx = null;
      this.source = null;
      this.analyser = null;
      this.buffer = null;
      this.raf = 0;
      this.draw = this.draw.bind(this);
    }

    start(stream) {
      const AudioCtx = window.AudioContext || window.webkitAudioContext;
      if (!AudioCtx) return;
      try {
        // One context for the page's lifetime; browsers limit how many may exist.
        if (!this.ctx) this.ctx = new AudioCtx();
        this.source = this.ctx.createMediaStreamSource(stream);
        this.analyser = this.ctx.createAnalyser();
        this.analyser.fftSize = 1024;
        this.buffer = new Float32Array(this.analyser.fftSize);
        this.source.connect(this.analyser); // not to the speakers: no local echo
        this.resume();
        this.raf = requestAnimationFrame(this.draw);
      } catch (err) {
        console.warn('[avatar] mic meter unavailable', err);
      }
    }

    stop() {
      cancelAnimationFrame(this.raf);
      this.raf = 0;
      if (this.source) this.source.disconnect();
      this.source = null;
      this.analyser = null;
      this.fill.style.transform = 'scaleX(0)';
    }

    draw() {
      if (!this.analyser) return;
      this.analyser.getFloatTimeDomainData(this.buffer);
      let sum = 0;
      for (const v of this.buffer) sum += v * v;
      const rms = Math.sqrt(sum / this.buffer.length);
      // Map -60..0 dBFS onto the bar; speech sits around -30..-10.
      const db = 20 * Math.log10(rms || 1e-9);
      const level = Math.min(1, Math.max(0, (db + 60) / 60));
      this.fill.style.transform = `scaleX(${level.toFixed(3)})`;
      this.raf = requestAnimationFrame(this.draw);
    }

    /** Autoplay policy starts an AudioContext suspended until the user interacts. */
    resume() {
      if (this.ctx && this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
    }
  }

  window.AvatarMic = Object.freeze({ acquire, describeError, stopStream, Meter });
})();
