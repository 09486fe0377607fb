/*
 * The stats panel's figures: RTCPeerConnection.getStats() reports reduced to the
 * counters we need (summarizeReport), two consecutive samples turned into rates
 * (computeFigures), and the #stats list that shows them (Panel).
 *
 * No page state here: client.js samples once per second and keeps the figures in
 * window.avatarClient.stats (window.AvatarStats).
 */
(() => {
  'use strict';

  /** window.avatarClient.stats before the first sample: every figure unknown. */
  function empty() {
    return {
      fps: null,
      width: null,
      height: null,
      bitrateKbps: null,
      rttMs: null,
      jitterBufferMs: null,
      audioPacketsReceived: null,
      audioEnergy: null, // inbound audio totalAudioEnergy (cumulative; > 0 once sound arrived)
      audioLevel: null, // inbound audio level, 0..1
      framesDecoded: null,
      framesDropped: null,
      videoPacketsLost: null,
      micPacketsSent: null, // outbound audio packets (our microphone)
    };
  }

  /** The receiving pc's report, then the microphone's pc's when it has one of its own. */
  function getReports(pc, micPc) {
    return Promise.all([pc.getStats(), ...(micPc ? [micPc.getStats()] : [])]);
  }

  /** Picks the raw counters we need out of RTCStatsReports (the receiving pc's first). */
  function summarizeReport(reports) {
    let video = null;
    let audio = null;
    let micOut = null;
    let transport = null;
    const pairs = new Map();

    reports.forEach((report, i) => report.forEach((st) => {
      const kind = st.kind || st.mediaType; // mediaType: older browsers
      if (st.type === 'inbound-rtp' && kind === 'video') video = st;
      else if (st.type === 'inbound-rtp' && kind === 'audio') audio = st;
      else if (st.type === 'outbound-rtp' && kind === 'audio') micOut = st;
      else if (i > 0) return; // round trip: the receiving pc's
      else if (st.type === 'transport') transport = st;
      else if (st.type === 'candidate-pair') pairs.set(st.id, st);
    }));

    let pair = transport && transport.selectedCandidatePairId
      ? pairs.get(transport.selectedCandidatePairId)
      : null;
    if (!pair) {
      // Firefox marks the pair with `selected`; otherwise take the nominated working one.
      for (const p of pairs.values()) {
        if (p.selected || (p.nominated && p.state === 'succeeded')) {
          pair = p;
          break;
        }
      }
    }

    const v = video || {};
    const a = audio || {};
    return {
      t: performance.now(),
      framesPerSecond: v.framesPerSecond,
      framesDecoded: v.framesDecoded,
      framesDropped: v.framesDropped,
      frameWidth: v.frameWidth,
      frameHeight: v.frameHeight,
      bytesReceived: v.bytesReceived,
      videoPacketsLost: v.packetsLost,
      jitterBufferDelay: v.jitterBufferDelay,
      jitterBufferEmittedCount: v.jitterBufferEmittedCount,
      rtt: pair ? pair.currentRoundTripTime : undefined,
      audioPackets: a.packetsReceived,
      audioEnergy: a.totalAudioEnergy,
      audioLevel: a.audioLevel,
      micPackets: micOut ? micOut.packetsSent : undefined,
    };
  }

  /** Turns two consecutive samples into the figures shown on the page. */
  function computeFigures(cur, prev) {
    const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
    const orNull = (x) => (isNum(x) ? x : null);
    const dt = prev ? (cur.t - prev.t) / 1000 : 0;
    // Counter growth since the last sample; null when unknown or the counter was reset.
    const delta = (key) =>
      prev && isNum(cur[key]) && isNum(prev[key]) && cur[key] >= prev[key] ? cur[key] - prev[key] : null;

    let fps = orNull(cur.framesPerSecond);
    const dFrames = delta('framesDecoded');
    if (fps === null && dt > 0 && dFrames !== null) fps = dFrames / dt;

    const dBytes = delta('bytesReceived');
    const bitrateKbps = dt > 0 && dBytes !== null ? (dBytes * 8) / dt / 1000 : null;

    let jitterBufferMs = null;
    const dDelay = delta('jitterBufferDelay');
    const dCount = delta('jitterBufferEmittedCount');
    if (dDelay !== null && dCount > 0) {
      jitterBufferMs = (dDelay / dCount) * 1000;
    } else if (!prev && cur.jitterBufferEmittedCount > 0) {
      jitterBufferMs = (cur.jitterBufferDelay / cur.jitterBufferEmittedCount) * 1000; // lifetime average
    }

    const round = (x, digits) => (x === null ? null : Number(x.toFixed(digits)));
    return {
      fps: round(fps, 1),
      width: orNull(cur.frameWidth),
      height: orNull(cur.frameHeight),
      bitrateKbps: round(bitrateKbps, 0),
      rttMs: isNum(cur.rtt) ? round(cur.rtt * 1000, 1) : null,
      jitterBufferMs: round(jitterBufferMs, 1),
      audioPacketsReceived: orNull(cur.audioPackets),
      audioEnergy: orNull(cur.audioEnergy),
      audioLevel: orNull(cur.audioLevel),
      framesDecoded: orNull(cur.framesDecoded),
      framesDropped: orNull(cur.framesDropped),
      videoPacketsLost: orNull(cur.videoPacketsLost),
      micPacketsSent: orNull(cur.micPackets),
    };
  }

  // What #stats shows: one cell per row; `value` formats the figures (null = unknown).
  const STAT_ROWS = [
    { label: 'fps', value: (st) => st.fps },
    { label: 'resolution', value: (st) => (st.width !== null && st.height !== null ? `${st.width}×${st.height}` : null) },
    { label: 'video', value: (st) => (st.bitrateKbps !== null ? `${st.bitrateKbps} kbps` : null) },
    { label: 'rtt', value: (st) => (st.rttMs !== null ? `${st.rttMs} ms` : null) },
    { label: 'jitter buffer', value: (st) => (st.jitterBufferMs !== null ? `${st.jitterBufferMs} ms` : null) },
    { label: 'audio in', value: (st) => (st.audioPacketsReceived !== null ? `${st.audioPacketsReceived} pkts` : null) },
    { label: 'audio level', value: (st) => (st.audioLevel !== null ? st.audioLevel.toFixed(2) : null) },
    { label: 'mic out', value: (st) => (st.micPacketsSent !== null ? `${st.micPacketsSent} pkts` : null) },
  ];

  /** The #stats list: its cells are built once, then refilled by render(figures). */
  class Panel {
    constructor(list) {
      this.cells = []; // <dd> per STAT_ROWS entry
      for (const row of STAT_ROWS) {
        const cell = document.createElement('div');
        cell.className = 'stat';
        const dt = document.createElement('dt');
        dt.textContent = row.label;
        const dd = document.createElement('dd');
        cell.append(dt, dd);
        list.append(cell);
        this.cells.push(dd);
      }
    }

    render(figures) {
      STAT_ROWS.forEach((row, i) => {
        const value = row.value(figures);
        this.cells[i].textContent = value === null || value === undefined ? '—' : String(value);
      });
    }
  }

  window.AvatarStats = Object.freeze({ empty, getReports, summarizeReport, computeFigures, Panel });
})();
