"""VideoEncoder on its own: a real source and broadcast, viewers that record what they get."""

from __future__ import annotations

import asyncio

import av
import numpy as np
import pytest

from avatar_streaming.codecs import VIDEO_CLOCK_RATE
from avatar_streaming.media.encoder import VideoEncoder
from avatar_streaming.media.fanout import Broadcast, Payload
from avatar_streaming.media.sources import VideoSource
from avatar_streaming.media.video import Picture
from tests.conftest import wait_until
from tests.unit.media.viewers import Recorder

SIZE = 64


class Clock:
    """The encoder's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def picture(shade: int) -> Picture:
    rgb = np.full((SIZE, SIZE, 3), shade, np.uint8)
    yuv = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    return Picture.ready(yuv)


@pytest.fixture
async def encoding() -> tuple[VideoSource, Broadcast, VideoEncoder, Clock]:
    source = VideoSource(SIZE, SIZE)
    broadcast = Broadcast("video", VIDEO_CLOCK_RATE)
    clock = Clock()
    encoder = VideoEncoder("VP8", source.mailbox, broadcast, fps=30, bitrate_bps=300_000,
                           clock=clock)
    encoder.start()
    yield source, broadcast, encoder, clock
    await encoder.stop()


async def test_nothing_is_encoded_without_viewers_and_the_first_gets_a_keyframe(
        encoding: tuple[VideoSource, Broadcast, VideoEncoder, Clock]) -> None:
    source, broadcast, encoder, _ = encoding
    for shade in (10, 20, 30):
        source.publish(picture(shade))
        await asyncio.sleep(0.04)
    assert encoder.frames_encoded == 0, "no viewer: no encode"
    viewer = Recorder()
    broadcast.join(viewer)
    await wait_until(lambda: bool(viewer.frames))
    assert encoder.keyframes == 1 and is_vp8_keyframe(viewer.frames[0])


async def test_one_encode_serves_every_viewer_the_same_packets(
        encoding: tuple[VideoSource, Broadcast, VideoEncoder, Clock]) -> None:
    source, broadcast, encoder, _ = encoding
    first, second = Recorder(), Recorder()
    broadcast.join(first)
    broadcast.join(second)
    for pushed, shade in enumerate(range(40, 240, 40), 1):
        source.publish(picture(shade))
        await wait_until(lambda n=pushed: len(first.frames) >= n)  # type: ignore[misc]
    assert first.frames == second.frames
    assert encoder.frames_encoded == len(first.frames)


async def test_keyframe_requests_wait_out_the_interval_on_the_encoders_clock(
        encoding: tuple[VideoSource, Broadcast, VideoEncoder, Clock]) -> None:
    source, broadcast, encoder, clock = encoding
    viewer = Recorder()
    broadcast.join(viewer)
    await wait_until(lambda: encoder.keyframes == 1)
    encoder.request_keyframe()  # within 0.5 s of the last: not yet
    for shade in (50, 60, 70):
        source.publish(picture(shade))
        count = encoder.frames_encoded
        await wait_until(lambda n=count: encoder.frames_encoded > n)  # type: ignore[misc]
    assert encoder.keyframes == 1
    clock.now += 0.5
    source.publish(picture(80))
    await wait_until(lambda: encoder.keyframes == 2)
    assert is_vp8_keyframe(viewer.frames[-1]) or is_vp8_keyframe(viewer.frames[-2])


def is_vp8_keyframe(payloads: list[Payload]) -> bool:
    """RFC 7741: after the payload descriptor, the frame header's P bit is 0 for a key frame."""
    data = payloads[0].data
    offset = 1
    if data[0] & 0x80:  # X: extensions follow
        extensions = data[1]
        offset += 1
        if extensions & 0x80:  # I: picture id, one or two bytes
            offset += 2 if data[offset] & 0x80 else 1
        offset += bool(extensions & 0x40) + bool(extensions & 0x30)
    return not data[offset] & 0x01
