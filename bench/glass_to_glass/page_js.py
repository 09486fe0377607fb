"""The JavaScript run in Chromium's pages: frame timing and decoding, and what getStats reads.

Kept as strings here so the Python around them reads as Python; the constants that the
stamp and the page must share are substituted in, never written twice.
"""

from __future__ import annotations

from typing import Any

from .stamp import BITS, BLOCK, SIZE

Samples = list[list[Any]]
"""One page's records, one per presented frame (``window.__g2g.samples``):
[counter or -1, display Unix ms, last packet received Unix ms or None, presentedFrames,
RTP timestamp or None]."""

# Runs in every page before its own scripts: times the WebSocket's open and the peer
# connection's 'connected', and decodes every presented frame's counter.
INIT_SCRIPT = """(() => {
  const BLOCK = @BLOCK@, BITS = @BITS@, SIZE = @SIZE@;
  const origin = performance.timeOrigin;
  const g = window.__g2g = {wsOpenAt: null, offerSentAt: null, answerAt: null,
                            pcConnectedAt: null, firstFrame: null, recording: false,
                            samples: []};
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('open', () => {
        if (g.wsOpenAt === null) g.wsOpenAt = performance.now();
      });
      this.addEventListener('message', (ev) => {
        if (g.answerAt === null && String(ev.data).includes('"answer"'))
          g.answerAt = performance.now();
      });
    }
    send(data) {
      if (g.offerSentAt === null && String(data).includes('"offer"'))
        g.offerSentAt = performance.now();
      return super.send(data);
    }
  };
  const NativePeerConnection = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(...args) {
      super(...args);
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected' && g.pcConnectedAt === null)
          g.pcConnectedAt = performance.now();
      });
    }
  };
  document.addEventListener('DOMContentLoaded', () => {
    const video = document.getElementById('video');
    const canvas = document.createElement('canvas');
    canvas.width = SIZE; canvas.height = 2 * BLOCK;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    const blockMean = (px, bx, by) => {  // mean RGB of the block's central 8x8
      let sum = 0;
      for (let y = by * BLOCK + 12; y < by * BLOCK + 20; y++)
        for (let x = bx * BLOCK + 12; x < bx * BLOCK + 20; x++) {
          const i = (y * SIZE + x) * 4;
          sum += px[i] + px[i + 1] + px[i + 2];
        }
      return sum / 192;
    };
    const decode = () => {
      const vw = video.videoWidth, vh = video.videoHeight;
      if (!vw || !vh) return -1;
      ctx.drawImage(video, 0, 0, vw, vh * 2 * BLOCK / SIZE, 0, 0, SIZE, 2 * BLOCK);
      const px = ctx.getImageData(0, 0, SIZE, 2 * BLOCK).data;
      let value = 0;
      for (let b = 0; b < BITS; b++) {
        const bit = blockMean(px, b, 0), complement = blockMean(px, b, 1);
        if (Math.abs(bit - complement) < 96) return -1;  // not a clear black/white pair
        value = value * 2 + (bit > complement ? 1 : 0);
      }
      return value;
    };
    const onFrame = (now, meta) => {
      if (g.firstFrame === null)
        g.firstFrame = {displayAt: meta.expectedDisplayTime, callbackAt: now};
      if (g.recording)
        g.samples.push([decode(), origin + meta.expectedDisplayTime,
                        meta.receiveTime === undefined ? null : origin + meta.receiveTime,
                        meta.presentedFrames,
                        meta.rtpTimestamp === undefined ? null : meta.rtpTimestamp]);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
})();""".replace("@BLOCK@", str(BLOCK)).replace("@BITS@", str(BITS)).replace("@SIZE@", str(SIZE))

# Diagnostic only: moves the answer's audio track into a stream of its own, so Chromium
# does not lip-sync the video to it (the page is otherwise unchanged: it builds its own
# MediaStream from the tracks).
UNSYNC_AUDIO_SCRIPT = """(() => {
  const original = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (description) {
    if (description && description.sdp) {
      let kind = null;
      const sdp = description.sdp.split('\\r\\n').map((line) => {
        if (line.startsWith('m=')) kind = line.slice(2).split(' ')[0];
        if (kind === 'audio' && line.startsWith('a=msid:'))
          return 'a=msid:g2g-audio-alone ' + line.split(' ')[1];
        return line;
      }).join('\\r\\n');
      description = {type: description.type, sdp};
    }
    return original.call(this, description);
  };
})();"""

# The inbound-rtp counters we turn into per-frame averages over the window.
INBOUND_STATS = """async () => {
  const out = {};
  for (const r of (await window.avatarClient.pc.getStats()).values())
    if (r.type === 'inbound-rtp') out[r.kind] = r;
    else if (r.type === 'media-playout') out.playout = r;
  return out;
}"""
