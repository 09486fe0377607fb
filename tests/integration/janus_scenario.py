"""The SFU relay against a real Janus; run by test_janus.py as root in a fresh network namespace.

Janus and our system both use one private address on an interface of the namespace's
own (Janus refuses loopback for media). Our system publishes once into the room;
viewers watch it THROUGH Janus (subscribers to our feed, answering Janus's offers);
a user publishes a microphone tone into the room and our system must hear it as
"incoming-audio" from ``janus-<their feed id>``. Then Janus is killed and started
again: the system must publish again, and a new viewer must see frames. Prints one
JSON object with what was measured; the test asserts on it.

    unshare -n python -m tests.integration.janus_scenario    (from the repository root)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from avatar_streaming import AudioChunk, StreamingSystem, create_streaming_system
from avatar_streaming.rtc.ice import gathering_on
from avatar_streaming.sfu import RelayState
from avatar_streaming.sfu.janus import JanusHandle, JanusSession
from avatar_streaming.sfu.videoroom import PLUGIN
from tests.feeds import HasBridge, feeding_frames, feeding_tone
from tests.integration import janus_server
from tests.signals import (
    QUADRANT_COLOURS,
    ToneTrack,
    dominant_frequency,
    quadrant_centres,
    quadrants,
)

ROOM = 4242
OUR_TONE_HZ = 660.0
MIC_TONE_HZ = 440.0
ALICE_COLOURS = tuple(reversed(QUADRANT_COLOURS))
ALICE_TONE_HZ = 550.0
ALICE_MIC_HZ = 330.0
VIEWERS = 3
WINDOW_S = 4.0


class Viewer:
    """Watches our feed through Janus: joins as subscriber and answers Janus's offer."""

    def __init__(self, room: int = ROOM) -> None:
        self.room = room
        self.session = JanusSession(janus_server.URL)
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.video: list[tuple[float, int, int]] = []  # (arrival, width, height)
        self.colours: list[tuple[int, int, int]] = []  # the last frame's quadrant centres
        self.audio: list[tuple[float, np.ndarray]] = []  # (arrival, int16 mono samples)
        self.audio_rate = 48000
        self._readers: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    async def connect(self, feed_id: int) -> None:
        await self.session.open()
        handle = await self.session.attach(PLUGIN)
        reply = await handle.send({"request": "join", "ptype": "subscriber",
                                   "room": self.room, "streams": [{"feed": feed_id}]})
        assert reply.jsep is not None
        await self.pc.setRemoteDescription(RTCSessionDescription(**_description(reply.jsep)))
        with gathering_on([janus_server.ADDRESS]):
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        await handle.send({"request": "start"}, _jsep(self.pc))

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._readers.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                now = time.monotonic()
                if track.kind == "video":
                    self.video.append((now, frame.width, frame.height))
                    if len(self.video) % 15 == 0:
                        self.colours = quadrant_centres(frame.to_ndarray(format="rgb24"))
                else:
                    self.audio_rate = frame.sample_rate
                    samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))
                    self.audio.append((now, samples[:, 0].copy()))

    async def first_frame(self, timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.video:
            if time.monotonic() > deadline:
                raise TimeoutError("no video frame through Janus")
            await asyncio.sleep(0.05)

    def figures(self, start: float, end: float) -> dict[str, Any]:
        frames = [(w, h) for t, w, h in self.video if start <= t < end]
        audio = [s for t, s in self.audio if start <= t < end]
        samples = np.concatenate(audio) if audio else np.zeros(0, np.int16)
        return {"frames": len(frames), "fps": round(len(frames) / (end - start), 1),
                "sizes": sorted({f"{w}x{h}" for w, h in frames}),
                "audio_s": round(len(samples) / self.audio_rate, 2),
                "audio_rms": round(float(np.sqrt(np.mean(samples.astype(float) ** 2)))
                                   if len(samples) else 0.0, 1),
                "audio_hz": round(dominant_frequency(samples, self.audio_rate), 1)
                if len(samples) > 1000 else None}

    async def close(self) -> None:
        await self.pc.close()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        await self.session.destroy()


class Microphone:
    """A user who publishes a tone into the room (audio only), as a browser would."""

    def __init__(self, display: str, room: int = ROOM, tone_hz: float = MIC_TONE_HZ) -> None:
        self.display, self.room, self.tone_hz = display, room, tone_hz
        self.session = JanusSession(janus_server.URL)
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.feed_id = 0

    async def connect(self) -> None:
        await self.session.open()
        handle: JanusHandle = await self.session.attach(PLUGIN)
        reply = await handle.send({"request": "join", "ptype": "publisher", "room": self.room,
                                   "display": self.display})
        self.feed_id = int(reply.data["id"])
        self.pc.addTransceiver(ToneTrack(self.tone_hz), direction="sendonly")
        with gathering_on([janus_server.ADDRESS]):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        reply = await handle.send({"request": "publish", "audiocodec": "opus"}, _jsep(self.pc))
        assert reply.jsep is not None
        await self.pc.setRemoteDescription(RTCSessionDescription(**_description(reply.jsep)))

    async def close(self) -> None:
        await self.pc.close()
        await self.session.destroy()


def _jsep(pc: RTCPeerConnection) -> dict[str, Any]:
    return {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp, "trickle": False}


def _description(jsep: dict[str, Any]) -> dict[str, str]:
    return {"sdp": jsep["sdp"], "type": jsep["type"]}


class Heard:
    """The system's "incoming-audio", by user id."""

    def __init__(self, system: HasBridge) -> None:
        self.chunks: dict[str, list[AudioChunk]] = {}
        system.bridge.on("incoming-audio", self._on_chunk)

    def _on_chunk(self, chunk: AudioChunk) -> None:
        self.chunks.setdefault(chunk.peer_id or "", []).append(chunk)

    def figures(self, user_id: str) -> dict[str, Any]:
        chunks = self.chunks.get(user_id, [])
        if not chunks:
            return {"chunks": 0, "ids": sorted(self.chunks)}
        samples = np.frombuffer(b"".join(c.data for c in chunks[-10:]), np.int16)
        return {"chunks": len(chunks), "ids": sorted(self.chunks),
                "rms": round(float(np.sqrt(np.mean(samples.astype(float) ** 2))), 1),
                "hz": round(dominant_frequency(samples, chunks[0].sample_rate), 1)}


async def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def participants() -> list[int]:
    """The ids of the room's participants, asked of Janus directly."""
    session = JanusSession(janus_server.URL)
    await session.open()
    try:
        handle = await session.attach(PLUGIN)
        reply = await handle.send({"request": "listparticipants", "room": ROOM})
        return [int(p["id"]) for p in reply.data.get("participants", [])]
    finally:
        await session.destroy()


async def watch(feed_id: int, count: int, room: int = ROOM,
                ) -> tuple[list[Viewer], list[dict[str, Any]]]:
    viewers = [Viewer(room) for _ in range(count)]
    await asyncio.gather(*(v.connect(feed_id) for v in viewers))
    await asyncio.gather(*(v.first_frame() for v in viewers))
    await asyncio.sleep(0.5)  # past the first keyframe and the jitter buffer's start
    start = time.monotonic()
    await asyncio.sleep(WINDOW_S)
    return viewers, [v.figures(start, time.monotonic()) for v in viewers]


async def scenario(janus: janus_server.JanusProcess) -> dict[str, Any]:
    result: dict[str, Any] = {}
    began = time.monotonic()
    system = await create_streaming_system({
        "webrtc": {"signalingPort": 0, "signalingHost": "127.0.0.1", "iceServers": [],
                   "iceHostAddresses": [janus_server.ADDRESS],
                   "sfu": {"type": "janus", "url": janus_server.URL, "room": ROOM,
                           "display": "avatar"}},
        "media": {"videoWidth": 512, "videoHeight": 512, "videoFps": 30}})
    heard = Heard(system)
    relay = system.sfu
    assert relay is not None
    try:
        await system.start()
        async with feeding_frames(system, quadrants()), feeding_tone(system, OUR_TONE_HZ):
            await wait_for(lambda: relay.state is RelayState.PUBLISHED, 10, "publishing")
            result["published_after_s"] = round(time.monotonic() - began, 2)
            feed_id = relay.feed_id
            assert feed_id is not None
            mic = Microphone("user-mic")
            watching = asyncio.ensure_future(watch(feed_id, VIEWERS))
            await mic.connect()
            viewers, result["viewers"] = await watching
            mic_id = f"janus-{mic.feed_id}"
            await wait_for(lambda: len(heard.chunks.get(mic_id, [])) >= 10, 10, "the mic")
            result["mic"] = {"expected_id": mic_id, **heard.figures(mic_id)}
            result["status_users"] = system.get_status()["sfu"]["users"]
            result["encoded_once"] = {"video_viewers": system.video_stream.viewer_count,
                                      "audio_viewers": system.audio_stream.viewer_count}
            for closing in (*viewers, mic):
                await closing.close()
            result["room"] = await second_room(system)
            result["restart"] = await restart(janus, system, heard)
        await system.stop()
        result["participants_after_stop"] = await participants()
        result["tasks_left"] = sorted(t.get_name() for t in asyncio.all_tasks()
                                      if t is not asyncio.current_task())
    finally:
        await system.stop()
    result["elapsed_s"] = round(time.monotonic() - began, 1)
    return result


async def second_room(system: StreamingSystem) -> dict[str, Any]:
    """Room "alice" publishes into a Janus room of its own (``JanusConfig.room_for``): its
    viewers there see its picture, and a microphone there is heard by it alone."""
    heard_default = Heard(system)
    alice = await system.open_room("alice")
    relay = alice.sfu
    assert relay is not None and system.sfu is not None
    heard = Heard(alice)
    out: dict[str, Any] = {"janus_room": relay.config.room,
                           "expected_janus_room": system.sfu.config.room_for("alice")}
    async with feeding_frames(alice, quadrants(colours=ALICE_COLOURS)), \
            feeding_tone(alice, ALICE_TONE_HZ):
        await wait_for(lambda: relay.state is RelayState.PUBLISHED, 10, "alice publishing")
        assert relay.feed_id is not None
        mic = Microphone("alice-mic", relay.config.room, ALICE_MIC_HZ)
        watching = asyncio.ensure_future(watch(relay.feed_id, 1, relay.config.room))
        await mic.connect()
        viewers, figures = await watching
        out["viewer"] = {**figures[0], "colours": viewers[0].colours}
        mic_id = f"janus-{mic.feed_id}"
        await wait_for(lambda: len(heard.chunks.get(mic_id, [])) >= 10, 10, "alice's mic")
        out["mic"] = {"expected_id": mic_id, **heard.figures(mic_id)}
        out["default_room_heard"] = sorted(heard_default.chunks)
        for closing in (*viewers, mic):
            await closing.close()
    await alice.close()
    return out


async def restart(janus: janus_server.JanusProcess, system: StreamingSystem,
                  heard: Heard) -> dict[str, Any]:
    """Janus crashes and comes back: we publish again; a new viewer and a new mic work."""
    relay = system.sfu
    assert relay is not None
    before = relay.publications
    janus.kill()
    killed = time.monotonic()
    await asyncio.to_thread(janus.start)
    await wait_for(lambda: relay.publications > before
                   and relay.state is RelayState.PUBLISHED, 20, "publishing again")
    out: dict[str, Any] = {"republished_after_s": round(time.monotonic() - killed, 2),
                           "publications": relay.publications}
    assert relay.feed_id is not None
    mic = Microphone("user-mic-2")
    watching = asyncio.ensure_future(watch(relay.feed_id, 1))
    await mic.connect()
    viewers, figures = await watching
    out["viewer"] = figures[0]
    mic_id = f"janus-{mic.feed_id}"
    await wait_for(lambda: len(heard.chunks.get(mic_id, [])) >= 5, 10, "the second mic")
    out["mic"] = {"expected_id": mic_id, **heard.figures(mic_id)}
    for closing in (*viewers, mic):
        await closing.close()
    return out


def main() -> None:
    janus_server.scenario_main("janus-scenario-", lambda folder, janus: scenario(janus))


if __name__ == "__main__":
    main()
