"""The demo end to end: a face that arrives, a greeting that is heard, and an answer: to
what Whisper heard, or, without it, a parrot's."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamTrack

from avatar_streaming import StreamingSystem
from avatar_streaming.demo.runner import run_demo
from avatar_streaming.demo.speech import resample
from tests.integration.client import RtcClient
from tests.signals import ToneTrack, dominant_frequency
from tests.speech import SENTENCES, SpeechTrack, needs_whisper, share_heard, speak

BURST_S = (8.0, 9.0)
"""When the test's microphone speaks: after the greeting, which the parrot does not hear."""


@pytest.mark.timeout(90)
async def test_the_parrot_demo_shows_a_face_speaks_and_repeats_what_it_hears() -> None:
    ready: asyncio.Future[StreamingSystem] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    out = io.StringIO()
    demo = asyncio.create_task(run_demo("127.0.0.1", 0, out=out, stop=stop,
                                        on_ready=ready.set_result, transcribe=False))
    system = await asyncio.wait_for(ready, 10)
    client = RtcClient(f"ws://127.0.0.1:{system.server.port}/?room=one",
                       mic=ToneTrack(500.0, window_s=BURST_S))
    neighbour = RtcClient(f"ws://127.0.0.1:{system.server.port}/?room=two")
    try:
        await client.connect()
        await neighbour.connect()
        assert {"one", "two"} <= set(system.rooms), "each visitor's room opens on demand"
        next_door = asyncio.create_task(levels_of(await neighbour.track("audio"), 16))
        frame = await asyncio.wait_for((await client.track("video")).recv(), 10)
        assert (frame.width, frame.height) == (512, 512)
        assert frame.to_ndarray(format="rgb24").std() > 20, "expected a face, got a flat picture"
        audio = await client.track("audio")
        received = []
        for _ in range(int(16 / 0.02)):  # the greeting, the burst, and the reply
            samples = (await asyncio.wait_for(audio.recv(), 5)).to_ndarray()
            received.append(samples.reshape(-1, 2)[:, 0])
        levels = np.array([np.abs(s.astype(np.int32)).mean() for s in received])
        assert levels[: int(BURST_S[0] / 0.02)].max() > 300, "expected the greeting to be heard"
        after = np.flatnonzero(levels[int((BURST_S[1] + 0.2) / 0.02):] > 300)
        assert after.size > 30, "expected the parrot to say the burst back after the pause"
        start = int((BURST_S[1] + 0.2) / 0.02) + int(after[5])
        reply = np.concatenate(received[start:start + 25])
        pitch = dominant_frequency(reply, 48000)
        assert abs(pitch - 500) < 10, f"expected the 500 Hz burst back, got {pitch:.0f} Hz"
        assert "open http://127.0.0.1:" in out.getvalue()
        heard_next_door = await next_door
        assert heard_next_door[: int(BURST_S[0] / 0.02)].max() > 300, \
            "the other room's visitor is greeted by an avatar of its own"
        assert heard_next_door[int((BURST_S[1] + 0.2) / 0.02):].max() < 100, \
            "and does not hear what was said in the first room"
    finally:
        await client.close()
        await neighbour.close()
        stop.set()
        await asyncio.wait_for(demo, 10)


async def levels_of(track: MediaStreamTrack, seconds: float) -> np.ndarray:
    """The mean level of each 20 ms frame received over ``seconds``."""
    levels = []
    for _ in range(int(seconds / 0.02)):
        samples = (await asyncio.wait_for(track.recv(), 5)).to_ndarray()
        levels.append(np.abs(samples.astype(np.int32)).mean())
    return np.array(levels)


@needs_whisper
@pytest.mark.timeout(120)
async def test_the_demo_answers_what_whisper_heard_with_voice_and_captions() -> None:
    ready: asyncio.Future[StreamingSystem] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    out = io.StringIO()
    demo = asyncio.create_task(run_demo("127.0.0.1", 0, out=out, stop=stop,
                                        on_ready=ready.set_result, transcribe=True))
    system = await asyncio.wait_for(ready, 20)
    said = SENTENCES[2]
    speech = resample(speak(said), 16000, 48000)
    client = RtcClient(f"ws://127.0.0.1:{system.server.port}/?room=talk",
                       mic=SpeechTrack(speech, after_s=7.0))  # after the greeting
    try:
        await client.connect()
        audio = await client.track("audio")
        levels = asyncio.create_task(levels_of(audio, 22))
        captions: list[dict[str, object]] = []

        async def read_captions() -> None:
            while True:
                body = await client.messages.get()
                if body["type"] == "caption":
                    captions.append(body["data"])

        reader = asyncio.create_task(read_captions())
        heard = await levels
        reader.cancel()
        spoken = [c for c in captions if c["role"] == "avatar"]
        users = [c for c in captions if c["role"] == "user" and c["final"] and c["text"]]
        assert spoken and "Hello" in str(spoken[0]["text"]), "the greeting, captioned"
        assert len(users) == 1 and users[0]["peerId"] == client.config["peerId"]
        assert share_heard(said, str(users[0]["text"])) >= 0.7, f"heard {users[0]['text']!r}"
        replies = [c for c in spoken[1:] if str(c["text"]).startswith("You said:")]
        assert replies and share_heard(said, str(replies[0]["text"])) >= 0.7, \
            f"expected the avatar to answer what it heard, got {spoken}"
        end_of_speech = 7.0 + len(speech) / 48000
        assert heard[int((end_of_speech + 0.3) / 0.02):].max() > 300, \
            "expected the answer to be heard after the user spoke"
        assert "talk to it" in out.getvalue()
    finally:
        await client.close()
        stop.set()
        await asyncio.wait_for(demo, 10)
