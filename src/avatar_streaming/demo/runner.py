"""The demo: a drawn face that you can talk with.

It exercises all three integration points: frames in (the face, 30 fps),
speech in (espeak-ng, or a melody, pushed at 24 kHz as XTTS would), and the
microphone out: Whisper (the ``[whisper]`` extra) hears what each user says, the
page shows it as a caption, and the avatar answers aloud with a caption of its own
(conversation.py); speaking over the avatar interrupts it. Without the extra, a
parrot waits for a pause and says back what it heard, and the avatar says why.

Every visitor holds a conversation of their own: rooms open on demand (the page
opened without ``?room=`` is sent to a fresh one), and each room gets its own
avatar, face, voice and parrot, which go when the room idles out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from ..listen import Listener, WhisperRecognizer, whisper_available
from ..rooms import Room
from ..rtc.peer import Peer
from ..signaling.server import SignalingServer
from ..system import StreamingSystem, create_streaming_system
from ..types import AudioChunk, RoomClosedEvent, SpeechStartedEvent, TranscriptEvent, VideoFrame
from .conversation import GREETING, NO_RECOGNIZER_NOTE, PARROT_GREETING, reply_to, sounds_like
from .face import FaceRenderer
from .parrot import Parrot
from .speech import chunks, mouth_envelope, synthesize

log = logging.getLogger(__name__)

SPEECH_RATE = 24000
ECHO_GUARD_S = 0.5
"""After speaking, ignore the microphone this long: speakers may still be heard."""


@dataclass
class Utterance:
    start_s: float
    envelope: np.ndarray
    fps: float

    @property
    def end_s(self) -> float:
        return self.start_s + len(self.envelope) / self.fps

    def mouth_at(self, now_s: float) -> float:
        index = int((now_s - self.start_s) * self.fps)
        return float(self.envelope[index]) if 0 <= index < len(self.envelope) else 0.0


class Avatar:
    """Draws one room's face, speaks, and lets the mouth follow the speech being played.

    With a ``listener`` it converses: it answers each transcript of its room and stops
    speaking when a user starts; without, it parrots its room's microphones.
    """

    def __init__(self, room: Room, server: SignalingServer,
                 listener: Listener | None = None) -> None:
        self.room = room
        self.bridge = room.bridge
        self.media = media = room.config.media
        self.fps = float(media.video_fps)
        self.face = FaceRenderer(media.video_width, media.video_height)
        self.parrot = Parrot(sample_rate=media.audio_sample_rate)
        self.speech: deque[Utterance] = deque()
        self.last_said = ""
        self._listener = listener
        if listener is None:
            self.bridge.on("incoming-audio", self.on_microphone)
        else:
            listener.on("speech-started", self.on_speech_started)
            listener.on("transcript", self.on_transcript)
        self._server = server
        server.on("peer-connected", self._greet)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.animate(),
                                                            name=f"demo-{self.room.name}")

    async def stop(self) -> None:
        self._server.remove_listener("peer-connected", self._greet)
        if self._listener is not None:
            self._listener.remove_listener("speech-started", self.on_speech_started)
            self._listener.remove_listener("transcript", self.on_transcript)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _greet(self, peer: Peer) -> None:
        if peer.room != self.room.name:
            return
        if self._listener is None:
            await self.bridge.send_caption(NO_RECOGNIZER_NOTE)
            await self.say(PARROT_GREETING)
        else:
            await self.say(GREETING)

    @property
    def speaking(self) -> bool:
        return time.monotonic() < self.speaking_until_s

    async def on_speech_started(self, event: SpeechStartedEvent) -> None:
        """Barge-in: a user of this room speaks over the avatar, which stops at once."""
        if event.room == self.room.name and self.speaking:
            await self.bridge.interrupt()
            self.speech.clear()
            log.info("room %s: %s spoke over the avatar: interrupted", self.room.name,
                     event.peer_id)

    async def on_transcript(self, event: TranscriptEvent) -> None:
        if event.room != self.room.name or not event.final:
            return
        if sounds_like(event.text, self.last_said):
            log.info("room %s: ignored the avatar's own words %r", self.room.name, event.text)
            return
        answer = reply_to(event.text)
        if answer is not None:
            await self.say(answer)

    @property
    def speaking_until_s(self) -> float:
        return self.speech[-1].end_s if self.speech else 0.0

    async def say(self, text: str) -> None:
        """Speak ``text``, and show it as the avatar's caption."""
        self.last_said = text
        await self.bridge.send_caption(text)
        await self.play(synthesize(text, SPEECH_RATE), SPEECH_RATE)

    async def play(self, samples: np.ndarray, rate: int) -> None:
        """Queue speech and remember when it will play, for the mouth."""
        start = max(time.monotonic(), self.speaking_until_s)
        self.speech.append(Utterance(start, mouth_envelope(samples, rate, self.fps), self.fps))
        for chunk in chunks(samples, rate):
            await self.bridge.push_audio_chunk(
                AudioChunk(chunk, rate, 1, time.time() * 1000))

    async def on_microphone(self, chunk: AudioChunk) -> None:
        if time.monotonic() < self.speaking_until_s + ECHO_GUARD_S or chunk.peer_id is None:
            return
        utterance = self.parrot.feed(chunk.peer_id, bytes(chunk.data))
        if utterance is not None:
            log.info("heard %.1f s from %s; saying it back", len(utterance) / chunk.sample_rate,
                     chunk.peer_id)
            await self.play(utterance, chunk.sample_rate)

    def mouth_at(self, now_s: float) -> float:
        while self.speech and self.speech[0].end_s < now_s:
            self.speech.popleft()
        return self.speech[0].mouth_at(now_s) if self.speech else 0.0

    async def animate(self) -> None:
        """Render and push frames on a fixed 30 fps schedule."""
        start, n = time.monotonic(), 0
        media = self.media
        while True:
            now = time.monotonic()
            pixels = self.face.render(self.mouth_at(now), now - start)
            await self.bridge.push_video_frame(VideoFrame(
                pixels, media.video_width, media.video_height, time.time() * 1000))
            n += 1
            await asyncio.sleep(max(0.0, start + n / self.fps - time.monotonic()))


async def report_status(system: StreamingSystem, out: TextIO, interval_s: float = 1.0) -> None:
    """A live status line: peers, fps, latency."""
    live = out.isatty()
    while True:
        await asyncio.sleep(interval_s)
        status = system.get_status()
        m = status["metrics"]
        line = (f"rooms {len(status['rooms'])}  peers {status['peerCount']}  "
                f"default room: fps {m['fps']:.0f}  latency "
                f"{m['avgLatency']:.1f} ms  frames {m['videoFrames']}  dropped "
                f"{m['droppedFrames']}  audio chunks {m['audioChunks']}")
        out.write(f"\r{line}   " if live else f"{line}\n")
        out.flush()


async def run_demo(host: str = "127.0.0.1", port: int = 8081, *,
                   duration_s: float | None = None, out: TextIO = sys.stdout,
                   stop: asyncio.Event | None = None,
                   on_ready: Callable[[StreamingSystem], object] | None = None,
                   transcribe: bool | None = None) -> None:
    """Serve the demo until ``stop`` is set or ``duration_s`` passes. ``transcribe``:
    converse through Whisper (None: where the ``[whisper]`` extra is installed) or, False,
    parrot."""
    loopback = host.startswith("127.") or host == "localhost"
    config = {"webrtc": {"signalingPort": port, "signalingHost": host, "iceServers": [],
                         "rooms": {"onDemand": True},
                         **({"iceHostAddresses": ["127.0.0.1"]} if loopback else {})}}
    if transcribe is None:
        transcribe = whisper_available()
    async with await create_streaming_system(config) as system:
        await system.start()
        listener = None
        if transcribe:
            recognizer = await asyncio.to_thread(WhisperRecognizer)
            listener = Listener(recognizer).attach(system)
        else:
            out.write(f"avatar-streaming demo: {NO_RECOGNIZER_NOTE}\n")
        avatars: dict[str, Avatar] = {}

        def open_avatar(room: Room) -> None:
            avatar = avatars[room.name] = Avatar(room, system.server, listener)
            avatar.start()

        async def close_avatar(event: RoomClosedEvent) -> None:
            avatar = avatars.pop(event.room, None)
            if avatar is not None:
                await avatar.stop()

        open_avatar(system.default_room)  # for clients that name no room
        system.server.on("room-opened", open_avatar)
        system.server.on("room-closed", close_avatar)
        url = f"http://{host}:{system.server.port}/"
        out.write(f"avatar-streaming demo: open {url} (Ctrl+C to stop)\n")
        if transcribe:
            out.write(f"  talk to it; with speakers rather than headphones, open "
                      f"{url}?processing=1 (echo cancellation), or it hears itself\n")
        out.flush()
        if on_ready is not None:
            on_ready(system)
        status = asyncio.create_task(report_status(system, out), name="demo-status")
        try:
            waiter = (stop or asyncio.Event()).wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, duration_s)
        finally:
            status.cancel()
            await asyncio.gather(status, *(a.stop() for a in avatars.values()),
                                 return_exceptions=True)
            if listener is not None:
                await listener.close()
            out.write("\nstopped\n")
