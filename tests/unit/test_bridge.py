"""MediaBridge on its own: what a push does to the sinks it is given, and what it refuses."""

from __future__ import annotations

import time

import numpy as np
import pytest

from avatar_streaming import AudioChunk, Caption, ChunkError, FrameError, VideoFrame
from avatar_streaming.bridge import MediaBridge
from avatar_streaming.config import MediaConfig
from avatar_streaming.errors import CaptionError
from avatar_streaming.events import EventEmitter
from avatar_streaming.media.audio import TRACK_RATE, AudioQueue
from avatar_streaming.media.video import Picture
from avatar_streaming.types import PlaybackInterruptedEvent


class Pictures:
    """A video sink that keeps what it is given; ``held`` frames are dropped on request."""

    def __init__(self, held: int = 0) -> None:
        self.published: list[Picture] = []
        self.held = held

    def publish(self, picture: Picture) -> None:
        self.published.append(picture)

    def drop_held(self) -> int:
        dropped, self.held = self.held, 0
        return dropped


class Playout:
    def __init__(self) -> None:
        self.queue = AudioQueue(TRACK_RATE * 2)
        self.interrupts: list[int] = []

    def interrupt(self, dropped_frames: int = 0) -> PlaybackInterruptedEvent:
        self.interrupts.append(dropped_frames)
        dropped_ms = 1000 * len(self.queue) / TRACK_RATE
        self.queue.clear()
        return PlaybackInterruptedEvent(dropped_ms, None, time.time() * 1000, dropped_frames)


def bridge(**kwargs: object) -> tuple[MediaBridge, Pictures, Playout]:
    video, audio = Pictures(), Playout()
    return MediaBridge(MediaConfig(video_width=16, video_height=16), video, audio,
                       **kwargs), video, audio  # type: ignore[arg-type]


def rgba(width: int = 16, height: int = 16, value: int = 200) -> bytes:
    return bytes([value]) * (width * height * 4)


def pcm(seconds: float, rate: int) -> bytes:
    return (np.ones(int(seconds * rate), np.int16) * 1000).tobytes()


async def test_pushes_before_start_do_nothing() -> None:
    media, video, audio = bridge()
    await media.push_video_frame(VideoFrame(rgba(), 16, 16, time.time() * 1000))
    await media.push_audio_chunk(AudioChunk(pcm(0.1, 24000), 24000, 1, time.time() * 1000))
    assert not video.published and len(audio.queue) == 0
    assert media.get_metrics()["videoFrames"] == 0


async def test_a_pushed_frame_is_published_once_with_its_stamp_and_counted() -> None:
    media, video, _ = bridge()
    await media.start()
    stamp = time.time() * 1000 - 5
    await media.push_video_frame(VideoFrame(rgba(), 16, 16, stamp))
    (picture,) = video.published
    assert picture.timestamp_ms == stamp and picture.pushed_ms is not None
    yuv = picture.yuv()
    assert yuv is not None and (yuv.width, yuv.height, yuv.format.name) == (16, 16, "yuv420p")
    metrics = media.get_metrics()
    assert metrics["videoFrames"] == 1 and metrics["avgLatency"] >= 5


async def test_a_frame_that_does_not_fit_is_refused_and_nothing_is_counted() -> None:
    media, video, _ = bridge()
    await media.start()
    with pytest.raises(FrameError) as caught:
        await media.push_video_frame(VideoFrame(rgba()[:-1], 16, 16, time.time() * 1000))
    assert "expected 1024 bytes" in str(caught.value)
    assert not video.published and media.get_metrics()["videoFrames"] == 0


async def test_speech_is_queued_at_the_track_rate_and_bad_chunks_queue_nothing() -> None:
    media, _, audio = bridge()
    await media.start()
    for _ in range(5):
        await media.push_audio_chunk(AudioChunk(pcm(0.1, 24000), 24000, 1, time.time() * 1000))
    queued_s = len(audio.queue) / TRACK_RATE
    assert 0.49 <= queued_s <= 0.5, f"expected 0.5 s at {TRACK_RATE} Hz (less what the " \
        f"resampler holds back), got {queued_s:.3f} s"
    with pytest.raises(ChunkError):
        await media.push_audio_chunk(AudioChunk(b"\x00" * 3, 24000, 1, time.time() * 1000))
    assert len(audio.queue) / TRACK_RATE == queued_s
    assert media.get_metrics()["audioChunks"] == 5


async def test_interrupt_drops_the_speech_and_the_frames_held_for_it() -> None:
    media, video, audio = bridge()
    video.held = 7
    await media.start()
    await media.push_audio_chunk(AudioChunk(pcm(0.5, 48000), 48000, 1, time.time() * 1000))
    event = await media.interrupt()
    assert audio.interrupts == [7] and event.dropped_frames == 7
    assert 490 <= event.dropped_ms <= 500 and len(audio.queue) == 0


async def test_stop_ignores_pushes_again_and_drops_held_frames() -> None:
    media, video, _ = bridge()
    await media.start()
    video.held = 3
    await media.stop()
    assert video.held == 0 and not media.is_streaming
    await media.push_video_frame(VideoFrame(rgba(), 16, 16, time.time() * 1000))
    assert not video.published


async def test_captions_go_to_the_room_and_are_checked() -> None:
    sent: list[Caption] = []

    async def to_peers(caption: Caption) -> int:
        sent.append(caption)
        return 3

    media, _, _ = bridge(captions=to_peers)
    heard: list[Caption] = []
    media.on("caption", heard.append)
    assert await media.send_caption("hello", role="user", final=False, peer_id="p1") == 3
    assert sent == heard == [Caption("hello", "user", False, "p1")]
    with pytest.raises(CaptionError, match="expected role 'user' or 'avatar', got 'bot'"):
        await media.send_caption("hi", role="bot")  # type: ignore[arg-type]
    with pytest.raises(CaptionError, match="got 2001 characters"):
        await media.send_caption("x" * 2001)
    assert len(sent) == 1


async def test_the_microphone_is_heard_only_while_started() -> None:
    media, _, _ = bridge()
    heard: list[AudioChunk] = []
    media.on("incoming-audio", heard.append)
    chunk = AudioChunk(pcm(0.02, 16000), 16000, 1, time.time() * 1000, peer_id="p1")
    media.handle_incoming_audio(chunk)
    await media.start()
    media.handle_incoming_audio(chunk)
    assert heard == [chunk]


async def test_observers_get_each_push_only_when_they_listen() -> None:
    observers = EventEmitter()
    media, _, _ = bridge(observers=observers)
    await media.start()
    seen: list[VideoFrame] = []
    frame = VideoFrame(rgba(), 16, 16, time.time() * 1000)
    await media.push_video_frame(frame)  # nobody listens: nothing emitted, nothing fails
    observers.on("media-video-frame", seen.append)
    await media.push_video_frame(frame)
    assert seen == [frame]
