"""MediaBridge: where the renderer, the synthesizer and the recognizer plug in.

The bridge validates what is pushed, keeps the contract's metrics and emits
its events. It knows nothing of WebRTC: converted media goes to the sinks the
system gives it (the fan-outs), and incoming microphone audio comes back
through ``handle_incoming_audio``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import numpy as np

from .config import MediaConfig
from .errors import CaptionError
from .events import EventEmitter
from .media.audio import TRACK_RATE, AudioQueue, Resampler
from .media.decode import ChunkDecoder
from .media.pixels import PixelRing
from .media.video import Picture, accept_frame
from .metrics import StreamMetrics
from .types import AudioChunk, Caption, CaptionRole, PlaybackInterruptedEvent, VideoFrame

log = logging.getLogger(__name__)

MAX_CAPTION_CHARS = 2000
CAPTION_ROLES = ("user", "avatar")


class VideoSink(Protocol):
    def publish(self, picture: Picture) -> None: ...

    def drop_held(self) -> int: ...


class Playout(Protocol):
    queue: AudioQueue

    def interrupt(self, dropped_frames: int = 0) -> PlaybackInterruptedEvent: ...


class MediaBridge(EventEmitter):
    """Events: "video-frame", "audio-chunk", "incoming-audio", "caption" (each one sent),
    and where speech stands: "playback-started", "playback-finished",
    "playback-interrupted".

    "video-frame" and "audio-chunk" (each push, as pushed) are for observers, and so are
    their copies on ``observers`` ("media-video-frame", "media-audio-chunk": the server,
    as the contract has it); a push emits them only while someone listens.
    """

    def __init__(self, config: MediaConfig, video: VideoSink, audio: Playout,
                 metrics: StreamMetrics | None = None,
                 observers: EventEmitter | None = None,
                 captions: Callable[[Caption], Awaitable[int]] | None = None) -> None:
        super().__init__()
        self._observers = observers
        self._captions = captions
        self.config = config
        self.metrics = metrics or StreamMetrics(fps_target=config.video_fps)
        self._video = video
        self._audio = audio
        self._resampler = Resampler(TRACK_RATE, 1)
        self._decoder = ChunkDecoder()
        self._pixels = PixelRing()

    @property
    def is_streaming(self) -> bool:
        return self.metrics.is_streaming

    async def start(self) -> None:
        if not self.metrics.is_streaming:
            log.info("bridge started: pushes are accepted")
        self.metrics.is_streaming = True

    async def stop(self) -> None:
        if self.metrics.is_streaming:
            log.info("bridge stopped: pushes are ignored")
        self.metrics.is_streaming = False
        self._video.drop_held()

    async def push_video_frame(self, frame: VideoFrame) -> None:
        """Send a rendered frame to every peer. No-op unless started.

        Raises FrameError (a ValueError) when the frame does not fit its
        declared size or format; nothing of it is sent.
        """
        if not self.metrics.is_streaming:
            return
        picture = accept_frame(frame, self._pixels)
        latency = self.metrics.record_video_frame(frame.timestamp)
        picture.pushed_ms = self.metrics.last_frame_time_ms
        self._video.publish(picture)
        if self.config.debug:
            log.debug("video frame %dx%d latency %.1f ms", frame.width, frame.height, latency)
        self._observe("video-frame", frame)

    async def push_audio_chunk(self, chunk: AudioChunk) -> None:
        """Queue synthesized audio to play in real time. No-op unless started.

        Raises ChunkError (a ValueError) for a chunk that does not fit its
        declared shape, AudioQueueFullError when the queue would overflow;
        nothing of such a chunk is queued.
        """
        if not self.metrics.is_streaming:
            return
        samples, rate = self._decoder.decode(chunk)
        self._audio.queue.push(self._to_track_rate(samples, rate), chunk.timestamp)
        self.metrics.record_audio_chunk()
        self._observe("audio-chunk", chunk)

    async def interrupt(self) -> PlaybackInterruptedEvent:
        """Barge-in: drop all queued speech and the frames pushed ahead for it; silence
        from the next 20 ms frame.

        Emits "playback-interrupted" with the milliseconds (and frames) dropped.
        """
        self._resampler = Resampler(TRACK_RATE, 1)  # nor the few ms it holds back
        self._decoder.reset()
        event = self._audio.interrupt(dropped_frames=self._video.drop_held())
        log.info("interrupted: %.0f ms of queued speech and %d frames dropped",
                 event.dropped_ms, event.dropped_frames)
        return event

    async def send_caption(self, text: str, role: CaptionRole = "avatar", final: bool = True,
                           peer_id: str | None = None) -> int:
        """Show a line of captions on every page of this room (a ``caption`` message);
        returns to how many peers it went. ``role`` "avatar" (what the avatar says) or
        "user" (what ``peer_id`` was heard saying). Sent whether or not the bridge is
        started: captions are not media.

        Raises CaptionError (a ValueError) for text that is not a string or is over
        2,000 characters, or a role that is neither "user" nor "avatar".
        """
        if not isinstance(text, str) or len(text) > MAX_CAPTION_CHARS:
            got = f"{len(text)} characters" if isinstance(text, str) else type(text).__name__
            raise CaptionError(f"caption: expected text, a str of at most "
                               f"{MAX_CAPTION_CHARS} characters, got {got}")
        if role not in CAPTION_ROLES:
            raise CaptionError(f"caption: expected role 'user' or 'avatar', got {role!r}")
        caption = Caption(text, role, bool(final), peer_id or ("avatar" if role == "avatar"
                                                                else "unknown"))
        sent = await self._captions(caption) if self._captions is not None else 0
        if self.listeners("caption"):
            self.emit("caption", caption)
        return sent

    def handle_incoming_audio(self, chunk: AudioChunk) -> None:
        """Re-emit a browser microphone chunk as "incoming-audio". No-op unless started."""
        if self.metrics.is_streaming:
            self.emit("incoming-audio", chunk)

    def _observe(self, event: str, media: VideoFrame | AudioChunk) -> None:
        """Emit ``event`` here and "media-<event>" on the observers, where anyone listens."""
        if self.listeners(event):
            self.emit(event, media)
        observers = self._observers
        if observers is not None and observers.listeners(f"media-{event}"):
            observers.emit(f"media-{event}", media)

    def get_metrics(self) -> dict[str, Any]:
        return self.metrics.snapshot()

    def _to_track_rate(self, samples: np.ndarray, rate: int) -> np.ndarray:
        return self._resampler.convert(samples, rate).reshape(-1)
