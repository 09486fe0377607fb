"""Glass-to-glass latency: from ``push_video_frame`` to the moment Chromium shows that frame.

Why: the number a person feels is not how fast we encode, but how long after the
renderer hands us a frame it appears on their screen. This benchmark measures
exactly that, end to end, through the real system and the shipped browser page.

How:

- A system listens on loopback; frames of the demo face are pushed at 30 fps on a
  fixed schedule. Each frame carries its counter in its top 64 rows: 16 black/white
  32x32 blocks (the counter's bits) above 16 blocks holding the complement, so a
  frame decodes only when every block pair disagrees clearly (VP8 cannot fake that).
  The Unix time of each push (taken right before ``push_video_frame``) is kept.
- Audio (a quiet tone, 20 ms chunks) is kept queued 100 ms ahead of the video, as in
  a real avatar where speech drives the face and exists first.
- Chromium (Playwright) opens the shipped page. On every presented frame,
  ``requestVideoFrameCallback`` draws the video's top rows to a canvas, decodes the
  counter and records ``performance.timeOrigin + expectedDisplayTime`` (when a person
  sees it) and ``receiveTime`` (when its last packet arrived). Python and Chromium
  share the host's clock (the offset is measured and reported), so
  latency = display time - push time, per frame.

Phases, in this order: 1 viewer; an A/V sync A/B (the shipped page next to one whose
audio is moved out of the video's lip-sync group, to show what lip-sync adds); time to
first frame on fresh pages (WebSocket open, seen by an init script that wraps
``WebSocket``, to the first frame presented, step by step); then 10 viewers (10 pages of
one browser, every page measuring, samples pooled). The heaviest phase runs last: on a
small machine it may overrun its time bound, and then reports an error alone.

Diagnostics to show where the time goes: Chromium's getStats (jitter buffer, decode,
processing delay, audio delays), CPU use, and, on the server, when the shared encoder
started and finished each frame (by wrapping ``VideoEncoder._encode_and_send`` on the
running instance; skipped if the internals moved).

As root, the script re-executes itself under ``unshare -n`` so Chromium and the server
can pair nothing but 127.0.0.1; elsewhere it runs on the host network (``"netns": false``).

    .venv/bin/python bench/glass_to_glass.py [--seconds 10] [--viewers 1,10]

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import platform
import shutil
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

from avatar_streaming import (
    AudioChunk,
    AudioQueueFullError,
    FrameSentEvent,
    StreamingSystem,
    VideoFrame,
    create_streaming_system,
)
from avatar_streaming.demo.face import FaceRenderer
from avatar_streaming.media.video import to_av_frame

sys.path.insert(0, str(Path(__file__).parents[1]))
from _netns import in_netns, reexec_in_netns

from tests.browser.conftest import CHROMIUM_FLAGS  # the flags the browser tests use

log = logging.getLogger("bench.glass_to_glass")

Samples = list[list[Any]]
"""One page's records, one per presented frame:
[counter or -1, display Unix ms, last packet received Unix ms or None, presentedFrames,
RTP timestamp or None]."""

SIZE = 512
FPS = 30.0
BLOCK = 32
BITS = SIZE // BLOCK  # 16 bits: 36 minutes of frames at 30 fps before the counter wraps
COUNTER_MOD = 1 << BITS
AUDIO_AHEAD_S = 0.1
AUDIO_CHUNK_S = 0.02
AUDIO_RATE = 16000
TTFF_SAMPLE_LIMIT_S = 3.0
# Time to first frame, step by step, as the page sees it.
TTFF_STEPS = ("ws_open_to_offer_sent", "offer_sent_to_answer", "answer_to_pc_connected",
              "pc_connected_to_first_frame")
PHASES_BUDGET_S = 150.0  # + start-up and clean-up: the whole run stays under 3 minutes
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

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

# (name, numerator counter, denominator counter): delta(num) / delta(den) * 1000 ms.
STAT_RATIOS = [
    ("video_jitter_buffer_ms", "video", "jitterBufferDelay", "jitterBufferEmittedCount"),
    ("video_jitter_buffer_target_ms", "video", "jitterBufferTargetDelay",
     "jitterBufferEmittedCount"),
    ("video_jitter_buffer_minimum_ms", "video", "jitterBufferMinimumDelay",
     "jitterBufferEmittedCount"),
    ("video_decode_ms", "video", "totalDecodeTime", "framesDecoded"),
    ("video_processing_ms", "video", "totalProcessingDelay", "framesDecoded"),
    ("video_assembly_ms", "video", "totalAssemblyTime", "framesAssembledFromMultiplePackets"),
    ("audio_jitter_buffer_ms", "audio", "jitterBufferDelay", "jitterBufferEmittedCount"),
    ("audio_jitter_buffer_target_ms", "audio", "jitterBufferTargetDelay",
     "jitterBufferEmittedCount"),
    ("audio_jitter_buffer_minimum_ms", "audio", "jitterBufferMinimumDelay",
     "jitterBufferEmittedCount"),
    ("audio_playout_delay_ms", "playout", "totalPlayoutDelay", "totalSamplesCount"),
]
STAT_COUNTS = [("video_frames_received", "video", "framesReceived"),
               ("video_frames_decoded", "video", "framesDecoded"),
               ("video_keyframes_decoded", "video", "keyFramesDecoded"),
               ("video_frames_dropped", "video", "framesDropped"),
               ("video_packets_lost", "video", "packetsLost"),
               ("video_nacks_sent", "video", "nackCount"),
               ("video_plis_sent", "video", "pliCount"),
               ("video_freezes", "video", "freezeCount")]


# ---- What is pushed ---------------------------------------------------------


def stamp_blocks(counter: int) -> np.ndarray:
    """The top 2*BLOCK rows (RGB) holding ``counter``: its bits, then their complement."""
    bits = np.array([(counter >> (BITS - 1 - i)) & 1 for i in range(BITS)], dtype=np.uint8)
    rows = np.stack([bits, 1 - bits]) * 255
    return np.repeat(np.repeat(rows, BLOCK, axis=0), BLOCK, axis=1)


def stamp(image: np.ndarray, counter: int) -> None:
    """Write ``counter`` into the top rows of an RGBA frame, in place."""
    image[: 2 * BLOCK, :, :3] = stamp_blocks(counter)[:, :, None]
    image[: 2 * BLOCK, :, 3] = 255


def read_stamp(rgb: np.ndarray) -> int:
    """Decode a stamped counter (the browser does the same in JavaScript); -1 if unclear."""
    value = 0
    for b in range(BITS):
        x = slice(b * BLOCK + 12, b * BLOCK + 20)
        bit = float(rgb[12:20, x, :3].mean())
        complement = float(rgb[BLOCK + 12:BLOCK + 20, x, :3].mean())
        if abs(bit - complement) < 96:
            return -1
        value = value * 2 + (bit > complement)
    return value


def check_stamp() -> None:
    """The stamp survives the system's own RGBA -> I420 conversion."""
    image = FaceRenderer(SIZE, SIZE).render(0.3, 0.0)
    for counter in (0, 1, 0x5A5A, COUNTER_MOD - 1):
        stamp(image, counter)
        rgb = to_av_frame(VideoFrame(image, SIZE, SIZE, 0.0)).to_ndarray(format="rgb24")
        if read_stamp(rgb) != counter:
            raise RuntimeError(f"stamp self-check failed for counter {counter}")


@dataclass
class PushLog:
    """When each counter was pushed (Unix ms), and which converted frame carried it."""

    pushed_ms: dict[int, float] = field(default_factory=dict)
    counters: dict[float, int] = field(default_factory=dict)
    """The counter each frame carried, by its timestamp (the push time)."""
    pushes: int = 0


async def push_frames(system: StreamingSystem, pushes: PushLog, start: float) -> None:
    """Push stamped face frames at FPS on a fixed schedule until cancelled."""
    face = FaceRenderer(SIZE, SIZE)
    n = 0
    while True:
        t = time.monotonic() - start
        image = face.render(0.5 + 0.5 * math.sin(2 * math.pi * 3 * t), t)
        counter = n % COUNTER_MOD
        stamp(image, counter)
        pushed = time.time() * 1000
        await system.bridge.push_video_frame(VideoFrame(image, SIZE, SIZE, pushed))
        pushes.pushed_ms[counter] = pushed
        pushes.counters[pushed] = counter
        if len(pushes.counters) > 256:
            del pushes.counters[next(iter(pushes.counters))]
        pushes.pushes = n = n + 1
        await asyncio.sleep(max(0.0, start + n / FPS - time.monotonic()))


def tone_chunk() -> bytes:
    """AUDIO_CHUNK_S of a quiet 200 Hz tone (a whole number of cycles, so chunks join)."""
    t = np.arange(int(AUDIO_RATE * AUDIO_CHUNK_S)) / AUDIO_RATE
    return (0.05 * 32767 * np.sin(2 * np.pi * 200 * t)).astype("<i2").tobytes()


async def push_audio(system: StreamingSystem, pushes: PushLog, start: float) -> None:
    """Keep the tone AUDIO_AHEAD_S ahead of real time, as a synthesizer runs ahead (the
    system plays it in real time)."""
    chunk, pushed_s = tone_chunk(), 0.0
    while True:
        while pushed_s < time.monotonic() - start + AUDIO_AHEAD_S:
            try:
                await system.bridge.push_audio_chunk(
                    AudioChunk(chunk, AUDIO_RATE, 1, time.time() * 1000))
            except AudioQueueFullError:
                log.warning("audio queue full: the system plays slower than real time")
                break
            pushed_s += AUDIO_CHUNK_S
        await asyncio.sleep(AUDIO_CHUNK_S / 2)


@contextlib.asynccontextmanager
async def running(*coros: Awaitable[None]) -> AsyncIterator[None]:
    """Run background coroutines for the duration of the block; cancel them after."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):
                log.error("background task failed: %r", result)


# ---- Server-side diagnostics ------------------------------------------------


@dataclass
class ServerLog:
    """When the shared encoder started and finished (= sent) each counter, Unix ms."""

    encoded: dict[int, tuple[float, float]] = field(default_factory=dict)
    repeats: list[float] = field(default_factory=list)
    """When a frame already sent was encoded again (Unix ms)."""
    unknown: int = 0


def instrument_encoder(system: StreamingSystem, pushes: PushLog) -> ServerLog:
    """Time each frame from its push through its encode to its last packet, with the
    bridge's documented "frame-sent" diagnostics."""
    server = ServerLog()

    def sent(event: FrameSentEvent) -> None:
        counter = None if event.timestamp is None else pushes.counters.get(event.timestamp)
        if event.repeat:
            server.repeats.append(event.encode_started_at)  # the encoder's timer beat a push
        else:
            record_encode(server, counter, event.encode_started_at, event.sent_at)

    system.bridge.on("frame-sent", sent)
    return server


def record_encode(server: ServerLog, counter: int | None, started: float, sent: float) -> None:
    if counter is None:
        server.unknown += 1
    elif counter in server.encoded:
        server.repeats.append(started)  # the encoder's timer beat the next push
    else:
        server.encoded[counter] = (started, sent)


# ---- Browser side -----------------------------------------------------------


async def open_viewer(browser: Browser, url: str, unsync_audio: bool = False) -> Page:
    page = await browser.new_page(viewport={"width": 1100, "height": 900})
    page.on("pageerror", lambda exc: log.warning("page error: %s", exc))
    if unsync_audio:
        await page.add_init_script(UNSYNC_AUDIO_SCRIPT)
    await page.add_init_script(INIT_SCRIPT)
    await page.goto(url)
    return page


async def wait_connected(page: Page, timeout_s: float = 30) -> None:
    await page.wait_for_function(
        "window.avatarClient && window.avatarClient.state === 'connected'",
        timeout=timeout_s * 1000)


async def clock_offset_ms(page: Page) -> tuple[float, float]:
    """Browser Unix ms minus Python Unix ms, and its uncertainty (best of 5 reads)."""
    best = (0.0, math.inf)
    for _ in range(5):
        before = time.time() * 1000
        browser_now = await page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        if (after - before) / 2 < best[1]:
            best = (browser_now - (before + after) / 2, (after - before) / 2)
    return best


async def set_recording(pages: list[Page], on: bool) -> None:
    script = "on => { window.__g2g.recording = on; if (on) window.__g2g.samples = []; }"
    await asyncio.gather(*(p.evaluate(script, on) for p in pages))


async def collect(pages: list[Page], seconds: float) -> tuple[list[Samples], list[dict[str, Any]]]:
    """Record every page for ``seconds``; each page's samples and its getStats figures."""
    before = await asyncio.gather(*(p.evaluate(INBOUND_STATS) for p in pages))
    await set_recording(pages, True)
    await asyncio.sleep(seconds)
    await set_recording(pages, False)
    after = await asyncio.gather(*(p.evaluate(INBOUND_STATS) for p in pages))
    samples = await asyncio.gather(*(p.evaluate("window.__g2g.samples") for p in pages))
    return list(samples), [stat_deltas(a, b) for a, b in zip(before, after, strict=True)]


def stat_deltas(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float | None]:
    """Per-frame averages (ms) and counts over the window, from two getStats reads."""
    def delta(kind: str, key: str) -> float | None:
        a, b = before.get(kind, {}).get(key), after.get(kind, {}).get(key)
        return None if a is None or b is None else b - a

    out: dict[str, float | None] = {}
    for name, kind, num, den in STAT_RATIOS:
        n, d = delta(kind, num), delta(kind, den)
        out[name] = None if n is None or not d else round(n / d * 1000, 2)
    for name, kind, key in STAT_COUNTS:
        out[name] = delta(kind, key)
    return out


class CpuMeter:
    """CPU use since creation, in % of one core: the whole host, and this process."""

    def __init__(self) -> None:
        self._host = host_cpu_ticks()
        self._own = sum(os.times()[:2])
        self._wall = time.monotonic()

    def read(self) -> dict[str, float | None]:
        host, own, wall = host_cpu_ticks(), sum(os.times()[:2]), time.monotonic()
        host_pct = None
        if host is not None and self._host is not None:
            busy, total = host[0] - self._host[0], host[1] - self._host[1]
            host_pct = round(100 * busy / total * (os.cpu_count() or 1), 1) if total else None
        return {"host_busy": host_pct,
                "bench_process": round(100 * (own - self._own) / (wall - self._wall), 1),
                "of": 100 * (os.cpu_count() or 1)}


def host_cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs, from /proc/stat; None where unreadable."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


# ---- Turning samples into figures --------------------------------------------


def summary(values: Iterable[float]) -> dict[str, float | int | None]:
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return {"p50": None, "p90": None, "n": 0}
    p50, p90 = np.percentile(data, [50, 90])
    return {"p50": round(float(p50), 1), "p90": round(float(p90), 1), "n": int(data.size)}


@dataclass
class PageFigures:
    display: list[float] = field(default_factory=list)
    receive: list[float] = field(default_factory=list)
    receive_to_display: list[float] = field(default_factory=list)
    check: dict[str, int] = field(default_factory=dict)


def page_figures(samples: Samples, pushes: PushLog) -> PageFigures:
    """Latencies of each counter's first presentation, and the decode check."""
    figures = PageFigures()
    check = {"callbacks": len(samples), "undecodable": 0, "not_pushed": 0, "repeats": 0,
             "backwards": 0, "skipped": 0, "missed_callbacks": 0, "no_receive_time": 0,
             "rtp_timestamp_mismatch": 0}
    previous, presented, seen = -1, None, set()
    last_rtp: tuple[int, int] | None = None
    for value, shown, received, presented_frames, rtp in samples:
        if presented is not None and presented_frames is not None:
            check["missed_callbacks"] += max(0, presented_frames - presented - 1)
        presented = presented_frames
        if value < 0:
            check["undecodable"] += 1
            continue
        check_order(check, previous, value)
        previous = value
        if rtp is not None:
            check["rtp_timestamp_mismatch"] += not rtp_agrees(last_rtp, value, rtp)
            last_rtp = (value, rtp)
        pushed = pushes.pushed_ms.get(value)
        if pushed is None:
            check["not_pushed"] += 1
        elif value not in seen:
            seen.add(value)
            add_latencies(figures, check, pushed, shown, received)
    figures.check = check
    return figures


def check_order(check: dict[str, int], previous: int, value: int) -> None:
    if previous < 0:
        return
    if value == previous:
        check["repeats"] += 1
    elif value < previous:
        check["backwards"] += 1
    else:
        check["skipped"] += value - previous - 1


def rtp_agrees(last: tuple[int, int] | None, value: int, rtp: int) -> bool:
    """The frame drawn (counter) is the frame presented (RTP timestamp): their steps agree.

    The encoder stamps RTP time when it takes a frame, 90 kHz / FPS per frame on average
    with a few ms of scheduling jitter: half a frame interval of slack.
    """
    if last is None:
        return True
    frames = value - last[0]
    ticks = (rtp - last[1]) & 0xFFFFFFFF
    return abs(ticks - frames * 90000 / FPS) < 0.5 * 90000 / FPS


def add_latencies(figures: PageFigures, check: dict[str, int], pushed: float, shown: float,
                  received: float | None) -> None:
    figures.display.append(shown - pushed)
    if received is None:
        check["no_receive_time"] += 1
        return
    figures.receive.append(received - pushed)
    figures.receive_to_display.append(shown - received)


def server_figures(server: ServerLog | None, pushes: PushLog,
                   window: tuple[float, float]) -> dict[str, Any] | None:
    """push -> encode start -> sent, for the frames pushed inside ``window`` (Unix ms)."""
    if server is None:
        return None
    rows = [(pushes.pushed_ms[c], s, e) for c, (s, e) in server.encoded.items()
            if c in pushes.pushed_ms and window[0] <= pushes.pushed_ms[c] <= window[1]]
    return {
        "push_to_encode_start_ms": summary(s - p for p, s, _ in rows),
        "encode_ms": summary(e - s for _, s, e in rows),
        "push_to_sent_ms": summary(e - p for p, _, e in rows),
        "repeat_encodes": sum(window[0] <= t <= window[1] for t in server.repeats),
    }


def median_stats(per_page: list[dict[str, float | None]]) -> dict[str, float | None]:
    """The median over pages of each getStats figure."""
    out: dict[str, float | None] = {}
    for key in per_page[0] if per_page else []:
        values = [v for v in (s[key] for s in per_page) if v is not None]
        out[key] = round(float(np.median(values)), 2) if values else None
    return out


def viewer_report(samples: list[Samples], stats: list[dict[str, float | None]],
                  pushes: PushLog, server: dict[str, Any] | None,
                  offset: tuple[float, float]) -> dict[str, Any]:
    per_page = [page_figures(s, pushes) for s in samples]
    pooled = PageFigures()
    check: dict[str, int] = {}
    for figures in per_page:
        pooled.display += figures.display
        pooled.receive += figures.receive
        pooled.receive_to_display += figures.receive_to_display
        for key, value in figures.check.items():
            check[key] = check.get(key, 0) + value
    return {
        "measured_in": (f"all {len(samples)} pages, samples pooled" if len(samples) > 1
                        else "the only page"),
        "push_to_display_ms": summary(pooled.display),
        "push_to_receive_ms": summary(pooled.receive),
        "receive_to_display_ms": summary(pooled.receive_to_display),
        "per_page_push_to_display_p50_ms": [summary(f.display)["p50"] for f in per_page],
        "decode_check": check,
        "chrome_stats_median_over_pages": median_stats(stats),
        "server": server,
        "clock_offset_ms": {"browser_minus_python": round(offset[0], 2),
                            "uncertainty": round(offset[1], 2), "read_in": "the first page"},
    }


# ---- The phases -------------------------------------------------------------


async def close_quietly(what: Page | Browser, limit_s: float = 10) -> None:
    """Close a page or the browser; an overloaded or crashed one must not hang the run."""
    try:
        async with asyncio.timeout(limit_s):
            await what.close()
    except (TimeoutError, PlaywrightError) as exc:
        log.warning("closing %s: %r", type(what).__name__, exc)


@dataclass
class Bench:
    system: StreamingSystem
    browser: Browser
    url: str
    pushes: PushLog
    server: ServerLog | None
    args: argparse.Namespace
    pages: list[Page] = field(default_factory=list)

    async def measure_viewers(self, count: int) -> dict[str, Any]:
        """Bring the open pages to ``count``, warm up, and measure in every one of them."""
        while len(self.pages) > count:
            await close_quietly(self.pages.pop())
        opening = [open_viewer(self.browser, self.url) for _ in range(count - len(self.pages))]
        self.pages += await asyncio.gather(*opening)
        await asyncio.gather(*(wait_connected(p, connect_limit_s(count)) for p in self.pages))
        log.info("%d viewer(s) connected; warming up %.0f s", count, self.args.warmup)
        await asyncio.sleep(self.args.warmup)
        offset = await clock_offset_ms(self.pages[0])
        window_start, cpu = time.time() * 1000, CpuMeter()
        samples, stats = await collect(self.pages, self.args.seconds)
        window = (window_start - 1000, time.time() * 1000)
        report = viewer_report(samples, stats, self.pushes,
                               server_figures(self.server, self.pushes, window), offset)
        report["cpu_pct"] = cpu_pct = cpu.read()
        busy = cpu_pct["host_busy"]
        if busy is not None and busy >= 0.9 * (cpu_pct["of"] or 100):
            report["warning"] = ("CPU saturated during the window: these figures measure the "
                                 "overloaded machine (mostly the browser), not the server")
            log.warning("%d viewer(s): %s", count, report["warning"])
        log.info("%d viewer(s): push->display %s", count, report["push_to_display_ms"])
        return report

    async def measure_av_sync(self) -> dict[str, Any]:
        """Two pages side by side: the shipped one, and one whose video is not lip-synced.

        Same stream, same moment, same vsync: the difference is what Chromium's
        audio/video synchronisation adds to the video's latency.
        """
        await self.close_pages()
        self.pages = [await open_viewer(self.browser, self.url),
                      await open_viewer(self.browser, self.url, unsync_audio=True)]
        await asyncio.gather(*(wait_connected(p, connect_limit_s(2)) for p in self.pages))
        await asyncio.sleep(self.args.warmup)
        samples, stats = await collect(self.pages, self.args.seconds)
        await self.close_pages()
        keys = ("video_jitter_buffer_ms", "video_jitter_buffer_minimum_ms",
                "audio_jitter_buffer_ms", "audio_playout_delay_ms")
        report: dict[str, Any] = {"note": "2 pages at once; the second has its audio moved "
                                          "out of the video's sync group (SDP msid)"}
        for name, page_samples, page_stats in zip(("shipped_page", "audio_not_synced"),
                                                  samples, stats, strict=True):
            figures = page_figures(page_samples, self.pushes)
            report[name] = {"push_to_display_ms": summary(figures.display),
                            "receive_to_display_ms": summary(figures.receive_to_display),
                            **{k: page_stats[k] for k in keys}}
        log.info("A/V sync A/B: push->display p50 %s (shipped) vs %s (not synced)",
                 report["shipped_page"]["push_to_display_ms"]["p50"],
                 report["audio_not_synced"]["push_to_display_ms"]["p50"])
        return report

    async def close_pages(self) -> None:
        while self.pages:
            await close_quietly(self.pages.pop())

    async def first_frame_sample(self) -> dict[str, float]:
        """Open a fresh page; WebSocket open -> pc connected -> first frame presented."""
        page = await open_viewer(self.browser, self.url)
        try:
            await page.wait_for_function(
                "window.__g2g && window.__g2g.wsOpenAt !== null && "
                "window.__g2g.firstFrame !== null", timeout=TTFF_SAMPLE_LIMIT_S * 1000)
            g = await page.evaluate("window.__g2g")
        finally:
            await close_quietly(page)
        marks = [g["wsOpenAt"], g["offerSentAt"], g["answerAt"], g["pcConnectedAt"],
                 g["firstFrame"]["displayAt"]]
        steps = zip(TTFF_STEPS, itertools.pairwise(marks), strict=True)
        return {"total": marks[-1] - marks[0],
                **{name: b - a for name, (a, b) in steps if a is not None and b is not None}}

    async def time_to_first_frame(self) -> dict[str, Any]:
        """Fresh pages one after another, with no other viewer watching."""
        await self.close_pages()
        await asyncio.sleep(1.0)
        samples, failures = [], 0
        for _ in range(self.args.ttff_samples):
            try:
                samples.append(await self.first_frame_sample())
            except PlaywrightError as exc:
                failures += 1
                log.error("no first frame: %s", exc)
            await asyncio.sleep(0.6)  # past the encoder's keyframe rate limit (0.5 s)
        log.info("time to first frame: %s", [round(s["total"]) for s in samples])
        if not samples:
            return {"error": f"no first frame in {failures} tries"}

        def med(key: str) -> float | None:
            values = [s[key] for s in samples if key in s]
            return round(float(np.median(values)), 1) if values else None

        return {"median": med("total"), "samples": [round(s["total"], 1) for s in samples],
                "median_steps": {name: med(name) for name in TTFF_STEPS},
                "failures": failures, "other_viewers": 0, "from": "WebSocket open",
                "to": "first requestVideoFrameCallback expectedDisplayTime"}


async def run_phases(bench: Bench, args: argparse.Namespace, result: dict[str, Any]) -> None:
    """1 viewer, the A/V sync A/B, time to first frame, then the larger counts (heaviest
    last: on a small machine they may overrun, and must not take the others with them)."""
    deadline = time.monotonic() + PHASES_BUDGET_S
    for n in sorted(args.viewers):
        if n > 1 and args.ttff_samples and result["time_to_first_frame_ms"] is None:
            result["time_to_first_frame_ms"] = await phase(
                "time to first frame", bench.time_to_first_frame(), ttff_phase_limit_s(args),
                deadline)
        result["viewers"][str(n)] = await phase(f"{n} viewer(s)", bench.measure_viewers(n),
                                                viewer_phase_limit_s(args, n), deadline)
        if n == 1 and not args.no_av_sync_ab:
            result["av_sync_ab"] = await phase("A/V sync A/B", bench.measure_av_sync(),
                                               viewer_phase_limit_s(args, 2), deadline)
    if args.ttff_samples and result["time_to_first_frame_ms"] is None:
        result["time_to_first_frame_ms"] = await phase(
            "time to first frame", bench.time_to_first_frame(), ttff_phase_limit_s(args),
            deadline)


async def phase(name: str, coro: Coroutine[Any, Any, dict[str, Any]], limit_s: float,
                deadline: float) -> dict[str, Any]:
    """Run one phase within ``limit_s`` (and the run's deadline); overrunning is reported."""
    limit_s = min(limit_s, deadline - time.monotonic())
    if limit_s < 5:
        coro.close()
        log.error("%s: skipped, the run's time is spent", name)
        return {"error": "skipped: the run's time budget was spent"}
    try:
        async with asyncio.timeout(limit_s):
            return await coro
    except (TimeoutError, PlaywrightError) as exc:
        log.error("%s: no result (%r); machine overloaded?", name, exc)
        return {"error": f"no result within {limit_s:.0f} s: {exc!r}"[:300]}


async def run(args: argparse.Namespace, result: dict[str, Any]) -> None:
    """Start the system, a browser and the feeds; measure every phase into ``result``."""
    check_stamp()
    loads = [os.getloadavg()[0]]
    media = {} if args.audio_lead_ms is None else {"audioLeadMs": args.audio_lead_ms}
    system = await create_streaming_system({
        "webrtc": {"signalingPort": 0, "signalingHost": "127.0.0.1", "iceServers": [],
                   "iceHostAddresses": ["127.0.0.1"]},
        "media": media})
    result["audio_lead_ms"] = system.config.media.audio_lead_ms
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(stop_quietly, system)
        await system.start()
        pushes = PushLog()
        server = instrument_encoder(system, pushes)
        playwright = await stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        stack.push_async_callback(close_quietly, browser, 8)
        result["device"] = describe_device(browser)
        start = time.monotonic()
        await stack.enter_async_context(running(push_audio(system, pushes, start),
                                                push_frames(system, pushes, start)))
        bench = Bench(system, browser, f"http://127.0.0.1:{system.server.port}/", pushes,
                      server, args)
        await run_phases(bench, args, result)
        loads.append(os.getloadavg()[0])
        result.update({
            "frames_pushed": pushes.pushes,
            "dropped_frames_metric": system.get_status()["metrics"]["droppedFrames"],
            "load_avg_1m": {"start": loads[0], "end": loads[1]}})


async def stop_quietly(system: StreamingSystem, limit_s: float = 5) -> None:
    try:
        async with asyncio.timeout(limit_s):
            await system.stop()
    except TimeoutError:
        log.warning("system.stop() took over %.0f s", limit_s)


def describe_device(browser: Browser) -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Chromium {browser.version} (headless, software rendering)")


# ---- Entry point ------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--viewers", default="1,10", help="viewer counts, comma-separated")
    parser.add_argument("--ttff-samples", type=int, default=10,
                        help="fresh pages for time to first frame (0: skip)")
    parser.add_argument("--no-av-sync-ab", action="store_true",
                        help="skip the A/V sync A/B diagnostic (run after the 1-viewer phase)")
    parser.add_argument("--audio-lead-ms", type=float, default=None,
                        help="media.audioLeadMs (default: the system's)")
    parser.add_argument("--no-netns", action="store_true", help="stay on the host network")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    args.viewers = [int(v) for v in args.viewers.split(",") if v.strip()]
    return args


def connect_limit_s(viewers: int) -> float:
    """Opening pages is a CPU burst: on 2 busy cores 10 pages took up to 55 s to connect."""
    return 8 + 5 * viewers


def viewer_phase_limit_s(args: argparse.Namespace, viewers: int) -> float:
    return connect_limit_s(viewers) + float(args.warmup + args.seconds) + 5 + viewers


def ttff_phase_limit_s(args: argparse.Namespace) -> float:
    return 5 + int(args.ttff_samples) * 3.5


def time_limit_s(args: argparse.Namespace) -> float:
    """A bound on set-up and the phases; clean-up adds at most 13 s."""
    return PHASES_BUDGET_S + 10


async def bounded_run(args: argparse.Namespace) -> dict[str, Any]:
    """Everything the run measured, even when it had to be cut short."""
    result: dict[str, Any] = {
        "bench": "glass_to_glass", "viewers": {}, "time_to_first_frame_ms": None,
        "netns": in_netns(), "device": None,
        "seconds": args.seconds, "warmup_s": args.warmup}
    limit_s = time_limit_s(args)
    try:
        async with asyncio.timeout(limit_s):
            await run(args, result)
    except TimeoutError:
        log.error("the run took over %.0f s: stopped", limit_s)
        result["error"] = f"run stopped after {limit_s:.0f} s"
    return result


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    if not args.no_netns:
        reexec_in_netns(str(Path(__file__).resolve()), argv)
    logging.getLogger("aioice").setLevel(logging.WARNING)
    if not in_netns():
        log.warning("not in a network namespace: running on the host network")
    result = asyncio.run(bounded_run(args))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
