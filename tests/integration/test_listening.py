"""Users heard by a real recognizer through real peers: two rooms speaking at once, each
transcript to its own user and room, captions to that room's pages only; and media that
keeps flowing while the recognizer works."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from avatar_streaming import StreamingSystem
from avatar_streaming.demo.speech import resample
from avatar_streaming.listen import Listener
from avatar_streaming.types import TranscriptEvent
from tests.conftest import MakeSystem, wait_until, ws_url
from tests.feeds import feeding_frames
from tests.integration.client import RtcClient, note_frames
from tests.signals import quadrants
from tests.speech import SENTENCES, SpeechTrack, needs_whisper, share_heard, speak


def room_url(system: StreamingSystem, room: str) -> str:
    return f"{ws_url(system)}?room={room}"


def captions(client: RtcClient) -> list[dict[str, Any]]:
    """The caption messages the client got so far (taken off its queue)."""
    found = []
    while not client.messages.empty():
        body = client.messages.get_nowait()
        if body["type"] == "caption":
            found.append(body["data"])
    client.seen_captions = [*getattr(client, "seen_captions", []), *found]
    return client.seen_captions


@needs_whisper
async def test_two_users_in_two_rooms_speaking_at_once_are_each_heard_in_their_room(
        make_system: MakeSystem) -> None:
    from avatar_streaming.listen import WhisperRecognizer

    system = await make_system()
    await system.open_room("one")
    await system.open_room("two")
    listener = Listener(WhisperRecognizer()).attach(system)
    transcripts: list[TranscriptEvent] = []
    listener.on("transcript", transcripts.append)
    said = {"one": SENTENCES[0], "two": SENTENCES[1]}
    speakers = {room: RtcClient(room_url(system, room),
                                mic=SpeechTrack(resample(speak(text), 16000, 48000), 1.0))
                for room, text in said.items()}
    watcher = RtcClient(room_url(system, "one"))  # a second page of room one, no microphone
    try:
        await asyncio.gather(*(c.connect() for c in [*speakers.values(), watcher]))
        peer_of = {room: c.config["peerId"] for room, c in speakers.items()}
        await wait_until(lambda: len(transcripts) >= 2, 40)
        heard = {t.room: t for t in transcripts}
        for room, text in said.items():
            assert heard[room].peer_id == peer_of[room]
            assert heard[room].final
            assert share_heard(text, heard[room].text) >= 0.7, \
                f"room {room}: said {text!r}, heard {heard[room].text!r}"
            other = "two" if room == "one" else "one"
            assert share_heard(said[other], heard[room].text) < 0.3, "no leak between rooms"
        for client in [*speakers.values(), watcher]:
            await wait_until(lambda c=client: any(
                x["final"] and x["text"] for x in captions(c)), 5)
        for room, client in [("one", speakers["one"]), ("one", watcher),
                             ("two", speakers["two"])]:
            finals = [x for x in captions(client) if x["final"] and x["text"]]
            assert [(x["role"], x["peerId"]) for x in finals] == [("user", peer_of[room])], \
                f"a page of room {room} gets its room's caption and no other"
            assert finals[0]["text"] == heard[room].text
            assert any(not x["final"] and x["peerId"] == peer_of[room]
                       for x in captions(client)), "a pending caption while the user spoke"
    finally:
        await asyncio.gather(*(c.close() for c in [*speakers.values(), watcher]))
        await listener.close()


@needs_whisper
async def test_video_keeps_its_rate_while_whisper_transcribes(make_system: MakeSystem) -> None:
    """Whisper computes outside the interpreter lock (CTranslate2), so a thread is enough:
    the viewer's frames keep coming while it works, here three times over each utterance."""
    from avatar_streaming.listen import WhisperRecognizer

    class Thorough(WhisperRecognizer):
        calls = 0

        def transcribe(self, samples: np.ndarray) -> str:
            Thorough.calls += 1
            for _ in range(2):
                super().transcribe(samples)
            return super().transcribe(samples)

    system = await make_system()
    listener = Listener(Thorough()).attach(system)
    sentence = resample(speak(SENTENCES[2]), 16000, 48000)
    pause = np.zeros(48000, np.int16)
    speaker = RtcClient(ws_url(system),
                        mic=SpeechTrack(np.concatenate([sentence, pause, sentence]), 0.5))
    viewer = RtcClient(ws_url(system))
    arrivals: list[float] = []
    async with feeding_frames(system, quadrants()):
        try:
            await speaker.connect()
            await viewer.connect()
            counting = asyncio.create_task(note_frames(await viewer.track("video"), arrivals))
            await wait_until(lambda: Thorough.calls >= 1, 10)
            busy_from = time.monotonic()
            await wait_until(lambda: listener.transcripts >= 2, 30)
            counting.cancel()
            busy = [t for t in arrivals if t >= busy_from]
            gaps = np.diff(busy)
            fps = (len(busy) - 1) / (busy[-1] - busy[0])
            assert fps >= 25, f"expected ~30 fps while transcribing, got {fps:.1f}"
            assert gaps.max() < 0.25, f"a stall of {gaps.max() * 1000:.0f} ms"
        finally:
            await speaker.close()
            await viewer.close()
            await listener.close()
