"""One encoder per stream, shared by every viewer.

``VideoEncoder`` encodes the latest frame as soon as it is pushed, and repeats
it at the frame rate when the renderer is late, in a worker thread of its own
(PyAV releases the GIL while libvpx or x264 work), so signaling and RTP stay
responsive. Its bitrate is fixed: no viewer's bandwidth estimate resets it.
Keyframes come when a viewer joins or asks (PLI/FIR), at most one per
``keyframe_interval_s``; a request inside that window is served at its end.

``AudioEncoder`` encodes each 20 ms frame of the playout once.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import av
import numpy as np
from aiortc import RTCRtpCodecParameters, clock
from aiortc.codecs import get_encoder, opus
from aiortc.codecs.base import Encoder

from ..codecs import CODECS, VIDEO_CLOCK_RATE
from ..types import FrameSentEvent
from . import vp8, vp9
from .audio import TRACK_RATE
from .background import Background
from .fanout import Broadcast
from .mailbox import FrameMailbox
from .sync import AvSync, ntp_from_unix_ms
from .video import Picture

log = logging.getLogger(__name__)

VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)
AUDIO_TIME_BASE = fractions.Fraction(1, TRACK_RATE)
REPEAT_AFTER_INTERVALS = 1.5
"""Repeat the latest frame when no new one came for this many frame intervals: a timer of
exactly one interval races the renderer's next push and re-sends old frames."""
EPOCH_MARGIN_MS = 60_000.0
"""Video RTP time counts from this long before the encoder starts, so frames shown a little
earlier than their push (negative audio delay) still get positive timestamps."""


class SpeechOpusEncoder(opus.OpusEncoder):
    """aiortc's Opus encoder, but mono and at a bitrate of our choosing: aiortc fixes 96 kbit/s
    of stereo, three times what one voice needs. A mono stream is valid under "opus/48000/2"
    (RFC 7587: each packet says how many channels it carries). Constrained VBR keeps the
    bitrate a budget: free VBR ran 45% over it on a voice with some noise."""

    def __init__(self, bitrate_bps: int) -> None:
        super().__init__()
        self.codec.bit_rate = bitrate_bps
        self.codec.layout = "mono"
        self.codec.options = {"application": "voip", "vbr": "constrained"}
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=opus.SAMPLE_RATE,
                                           frame_size=opus.SAMPLES_PER_FRAME)


def codec_encoder(codec: str, clock_rate: int, bitrate_bps: int | None = None) -> Encoder:
    """The encoder (and packetizer) for one of our configured codec names: aiortc's, or ours
    for VP8 (no denoiser), VP9 and Opus at ``bitrate_bps``."""
    if codec == "VP8":
        return vp8.Vp8Encoder()
    if codec == "VP9":
        return vp9.Vp9Encoder()
    if codec == "opus" and bitrate_bps is not None:
        return SpeechOpusEncoder(bitrate_bps)
    return get_encoder(RTCRtpCodecParameters(mimeType=CODECS[codec].mime_type,
                                             clockRate=clock_rate,
                                             payloadType=0))


class VideoEncoder:
    """Encodes the shared video once for every viewer."""

    def __init__(self, codec: str, source: FrameMailbox, broadcast: Broadcast, *, fps: float,
                 bitrate_bps: int, keyframe_interval_s: float = 0.5,
                 sync: AvSync | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.codec = codec
        self._source = source
        self._broadcast = broadcast
        self._interval_s = 1.0 / fps
        self._bitrate_bps = bitrate_bps
        self._keyframe_interval_s = keyframe_interval_s
        self._clock = clock
        self._encoder = codec_encoder(codec, VIDEO_CLOCK_RATE)
        self._pin_bitrate()
        self._keyframe_wanted = True
        self._last_keyframe_s = -1e9
        self._sync = sync or AvSync()
        self._epoch_ms = self._sync.wall_clock() - EPOCH_MARGIN_MS
        self._last_pts = -1
        self._last_media_ms = 0.0
        self._last_wall_ms = 0.0
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"encoder-{codec}")
        self._loop = Background("video-encoder", self._run)
        self.frames_encoded = 0
        self.keyframes = 0
        self.encode_seconds = 0.0
        self.on_sent: Callable[[FrameSentEvent], None] | None = None
        """Given every frame sent (the bridge's "frame-sent", /metrics)."""
        broadcast.on_join = self.request_keyframe

    def _pin_bitrate(self) -> None:
        if hasattr(self._encoder, "target_bitrate"):
            self._encoder.target_bitrate = self._bitrate_bps

    def request_keyframe(self) -> None:
        """Make a coming frame a keyframe (rate-limited); when one may go now, encode it now
        (a viewer whose DTLS just came up, or one that lost a frame, waits for no push)."""
        self._keyframe_wanted = True
        if self._clock() - self._last_keyframe_s >= self._keyframe_interval_s:
            self._source.poke()

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        self._thread.shutdown(wait=True)

    async def _run(self) -> None:
        seen, last_sent, wait_s = -1, None, self._interval_s
        while True:
            if last_sent is not None:  # a new frame at once; a repeat if none came in time
                await self._source.wait_newer(seen, last_sent + wait_s - self._clock())
            seen, picture, fresh = self._source.next_after(seen)
            # after a new frame, give the renderer's next push some slack before repeating;
            # once repeating, keep the frame rate
            wait_s = self._interval_s * (REPEAT_AFTER_INTERVALS if fresh else 1.0)
            last_sent = self._clock()
            if self._broadcast.viewer_count == 0:
                self._keyframe_wanted = True  # whoever joins first starts from one
                continue
            try:
                await self._encode_and_send(picture, fresh, last_sent)
            except Exception:  # one bad frame must not end the video for everyone
                log.exception("video encoder failed on a frame")

    def _next_pts(self, picture: Picture, fresh: bool) -> int:
        """The frame's RTP time: when it should be shown, on the audio's clock (sync.py)."""
        wall_ms = self._sync.wall_clock()
        if fresh or self._last_pts < 0:
            media_ms = self._sync.video_time_ms(picture.timestamp_ms or wall_ms)
        else:  # a repeat shows the same picture a little later
            media_ms = self._last_media_ms + (wall_ms - self._last_wall_ms)
        pts = max(round((media_ms - self._epoch_ms) * VIDEO_CLOCK_RATE / 1000),
                  self._last_pts + 1)
        self._last_pts, self._last_wall_ms = pts, wall_ms
        self._last_media_ms = self._epoch_ms + pts * 1000 / VIDEO_CLOCK_RATE
        return pts

    async def _encode_and_send(self, picture: Picture, fresh: bool, now: float) -> None:
        pts = self._next_pts(picture, fresh)
        media_ntp = ntp_from_unix_ms(self._last_media_ms)
        keyframe = self._take_keyframe(now)
        started_ms = self._sync.wall_clock()
        loop = asyncio.get_running_loop()
        payloads, timestamp = await loop.run_in_executor(
            self._thread, self._encode, picture, pts, keyframe)
        self.frames_encoded += 1
        self.keyframes += keyframe
        if payloads and timestamp is not None:
            self._broadcast.send(payloads, timestamp, clock.current_ntp_time(), media_ntp)
            if fresh and picture.timestamp_ms is not None:
                self._sync.note_sent(picture.timestamp_ms)
            if self.on_sent is not None:
                self.on_sent(FrameSentEvent(
                    picture.timestamp_ms, picture.pushed_ms, started_ms,
                    self._sync.wall_clock(), timestamp, keyframe, not fresh, len(payloads),
                    sum(len(p) for p in payloads)))
        elif keyframe:
            self._keyframe_wanted = True  # nothing went out: ask again

    def _encode(self, picture: Picture, pts: int,
                keyframe: bool) -> tuple[list[bytes], int | None]:
        """In the encoder's thread: convert (once per picture) and encode."""
        started = time.perf_counter()
        frame = picture.yuv()
        if frame is None:  # overwritten by newer pushes: the next round takes the latest
            return [], None
        frame.pts, frame.time_base = pts, VIDEO_TIME_BASE
        frame.pict_type = av.video.frame.PictureType.NONE  # a repeat is no keyframe
        self._pin_bitrate()
        encoded = self._encoder.encode(frame, keyframe)
        self.encode_seconds += time.perf_counter() - started
        return encoded

    def _take_keyframe(self, now: float) -> bool:
        if self._keyframe_wanted and now - self._last_keyframe_s >= self._keyframe_interval_s:
            self._keyframe_wanted = False
            self._last_keyframe_s = now
            return True
        return False


class AudioEncoder:
    """Encodes each played 20 ms frame once for every viewer; ``bitrate_bps`` applies to Opus
    (PCMU and PCMA are always 64 kbit/s)."""

    def __init__(self, codec: str, broadcast: Broadcast, bitrate_bps: int | None = None) -> None:
        self.codec = codec
        self._broadcast = broadcast
        self._encoder = codec_encoder(codec, CODECS[codec].clock_rate, bitrate_bps)

    def encode(self, samples: np.ndarray, position: int) -> None:
        """Encode one frame of mono int16 at 48 kHz starting at sample ``position``."""
        if self._broadcast.viewer_count == 0:
            return
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = TRACK_RATE
        frame.pts, frame.time_base = position, AUDIO_TIME_BASE
        payloads, timestamp = self._encoder.encode(frame)
        if payloads:
            self._broadcast.send(payloads, timestamp, clock.current_ntp_time())
