"""Real media over real WebRTC (ICE, DTLS, SRTP on 127.0.0.1) to and from an aiortc client."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from avatar_streaming import AudioChunk, VideoFrame
from tests.conftest import MakeSystem, ws_url
from tests.feeds import feeding_frames
from tests.integration.client import RtcClient
from tests.signals import (
    QUADRANT_COLOURS,
    ToneTrack,
    colours_match,
    dominant_frequency,
    first_quadrant_frame,
    quadrant_centres,
    quadrants,
    tone,
)


async def test_browser_receives_pushed_frames_at_size_colour_and_rate(
        make_system: MakeSystem) -> None:
    system = await make_system()
    client = RtcClient(ws_url(system))
    async with feeding_frames(system, quadrants()):
        await client.connect()
        video = await client.track("video")
        frame = await first_quadrant_frame(video)
        first_frame_s = time.monotonic() - client.opened_at
        assert (frame.width, frame.height) == (512, 512)
        count, start = 0, time.monotonic()
        while time.monotonic() - start < 2.0:
            await asyncio.wait_for(video.recv(), 5)
            count += 1
        fps = count / (time.monotonic() - start)
    print(f"\nWebSocket open to first matching decoded frame: {first_frame_s * 1000:.0f} ms; "
          f"{fps:.1f} fps received")
    assert first_frame_s < 5
    assert fps >= 25, f"expected about 30 fps, got {fps:.1f}"
    await client.close()


async def test_late_renderer_repeats_the_latest_frame(make_system: MakeSystem) -> None:
    system = await make_system()
    client = RtcClient(ws_url(system))
    await client.connect()
    image = quadrants()
    await system.bridge.push_video_frame(VideoFrame(image, 512, 512, time.time() * 1000))
    video = await client.track("video")
    start, count, matching = time.monotonic(), 0, 0
    while time.monotonic() - start < 1.5:  # nothing more is pushed
        rgb = (await asyncio.wait_for(video.recv(), 5)).to_ndarray(format="rgb24")
        count += 1
        matching += colours_match(quadrant_centres(rgb), QUADRANT_COLOURS)
    assert count >= 30, f"expected the frame held at ~30 fps, got {count} frames in 1.5 s"
    assert matching >= count - 10
    await client.close()


async def received_audio(client: RtcClient, seconds: float) -> np.ndarray:
    """Mono samples at 48 kHz received from the server."""
    track = await client.track("audio")
    parts, total = [], 0
    while total < seconds * 48000:
        frame = await asyncio.wait_for(track.recv(), 5)
        samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0]
        parts.append(samples)
        total += len(samples)
    return np.concatenate(parts)


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (24000, 1), (48000, 2)])
async def test_pushed_tone_arrives_with_its_pitch(make_system: MakeSystem, rate: int,
                                                  channels: int) -> None:
    system = await make_system()
    client = RtcClient(ws_url(system))
    await client.connect()
    await client.track("audio")
    samples = tone(440.0, 3.0, rate, channels)
    step = rate // 10
    for i in range(0, len(samples), step):  # 100 ms chunks, pushed as fast as XTTS would
        await system.bridge.push_audio_chunk(AudioChunk(
            samples[i:i + step].tobytes(), rate, channels, time.time() * 1000))
    audio = await received_audio(client, 2.5)
    loud = audio[np.abs(audio) > 1000]
    assert len(loud) > 48000, "expected over a second of the tone, got mostly silence"
    start = int(np.argmax(np.abs(audio) > 1000)) + 4800
    pitch = dominant_frequency(audio[start:start + 48000], 48000)
    assert abs(pitch - 440.0) < 5, f"expected 440 Hz, got {pitch:.1f} Hz"
    assert system.get_status()["metrics"]["audioChunks"] == 30
    await client.close()


async def test_microphone_arrives_as_16khz_mono_chunks_with_its_pitch(
        make_system: MakeSystem) -> None:
    system = await make_system()
    chunks: list[AudioChunk] = []
    got_enough = asyncio.Event()

    async def on_audio(chunk: AudioChunk) -> None:  # async handlers are allowed
        chunks.append(chunk)
        if len(chunks) >= 25:
            got_enough.set()

    system.bridge.on("incoming-audio", on_audio)
    client = RtcClient(ws_url(system), mic=ToneTrack(660.0))
    await client.connect()
    await asyncio.wait_for(got_enough.wait(), 15)
    peer_id = client.config["peerId"]
    assert {c.peer_id for c in chunks} == {peer_id}
    assert all((c.sample_rate, c.channels, c.format) == (16000, 1, "PCM") for c in chunks)
    assert all(len(bytes(c.data)) == 3200 for c in chunks), "100 ms of 16 kHz mono s16"
    pcm = np.frombuffer(b"".join(bytes(c.data) for c in chunks[5:25]), dtype="<i2")
    pitch = dominant_frequency(pcm, 16000)
    assert abs(pitch - 660.0) < 5, f"expected 660 Hz, got {pitch:.1f} Hz"
    await client.close()


async def test_opus_and_mp3_chunks_play_with_their_pitch(make_system: MakeSystem) -> None:
    from tests.unit.media.test_decode import mp3_file, opus_packets

    system = await make_system()
    client = RtcClient(ws_url(system))
    await client.connect()
    await client.track("audio")
    for packet in opus_packets(tone(440.0, 1.5, 48000)[:, 0]):
        await system.bridge.push_audio_chunk(AudioChunk(packet, 48000, 1, 0, "OPUS"))
    await system.bridge.push_audio_chunk(
        AudioChunk(mp3_file(tone(660.0, 1.5, 24000)[:, 0], 24000), 24000, 1, 0, "MP3"))
    audio = await received_audio(client, 3.5)
    start = int(np.argmax(np.abs(audio) > 1000))
    opus_pitch = dominant_frequency(audio[start + 4800:start + 48000], 48000)
    mp3_pitch = dominant_frequency(audio[start + 86400:start + 129600], 48000)
    assert abs(opus_pitch - 440) < 5, f"expected the Opus tone at 440 Hz, got {opus_pitch:.0f}"
    assert abs(mp3_pitch - 660) < 5, f"expected the MP3 tone at 660 Hz, got {mp3_pitch:.0f}"
    await client.close()


def solid_rgba(rgb: tuple[int, int, int]) -> np.ndarray:
    img = np.zeros((512, 512, 4), np.uint8)
    img[..., :3] = rgb
    img[..., 3] = 255
    return img


async def first_frame_with_centre(track: object, rgb: tuple[int, int, int],
                                  within_s: float) -> float | None:
    """When (monotonic) the first frame whose centre is ``rgb`` arrived; None if none came."""
    deadline = time.monotonic() + within_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = await asyncio.wait_for(track.recv(), left)  # type: ignore[attr-defined]
        except TimeoutError:
            return None
        centre = frame.to_ndarray(format="rgb24")[256, 256]
        if colours_match([tuple(int(c) for c in centre)], (rgb,)):
            return time.monotonic()
    return None


async def test_a_frame_pushed_ahead_of_its_speech_waits_for_it_and_barge_in_drops_it(
        make_system: MakeSystem) -> None:
    system = await make_system()
    client = RtcClient(ws_url(system))
    await client.connect()
    video = await client.track("video")
    speech = tone(300.0, 2.0, 48000)
    now = time.time() * 1000
    await system.bridge.push_audio_chunk(AudioChunk(speech.tobytes(), 48000, 1, now))
    pushed = time.monotonic()
    await system.bridge.push_video_frame(VideoFrame(solid_rgba((0, 200, 0)), 512, 512,
                                                    now + 1000))
    shown = await first_frame_with_centre(video, (0, 200, 0), within_s=3)
    assert shown is not None, "the frame is shown once its audio plays"
    assert 0.9 <= shown - pushed <= 1.5, f"expected ~1 s of waiting, got {shown - pushed:.2f} s"

    events = []
    system.bridge.on("playback-interrupted", events.append)
    await system.bridge.push_video_frame(VideoFrame(solid_rgba((200, 0, 0)), 512, 512,
                                                    time.time() * 1000 + 500))
    await system.bridge.interrupt()
    assert events[0].dropped_frames == 1 and events[0].dropped_ms > 500
    assert await first_frame_with_centre(video, (200, 0, 0), within_s=1.5) is None, \
        "a frame waiting for speech that was interrupted is never shown"
    await client.close()
