"""Listener: every user's microphone, endpointed and transcribed, as events.

``hear`` takes the "incoming-audio" chunks of every peer (of every room), cuts each
peer's audio into utterances (endpoint.py) and queues them for the recognizer, which
runs in a thread (recognize.py): one utterance at a time, at most ``backlog`` waiting.
``attach(system)`` does the wiring: the server's "incoming-audio" in, a peer's
departure ends its utterance, and each transcript goes back to the room's pages as a
user caption.

Events: "speech-started" (SpeechStartedEvent: for barge-in), "transcript"
(TranscriptEvent), "transcript-failed" (TranscriptFailedEvent: the recognizer raised
or hung, or the backlog was full; logged too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import DEFAULT_ROOM
from ..events import EventEmitter
from ..media.audio import Resampler
from ..types import (
    AudioChunk,
    PeerDisconnectedEvent,
    SpeechStartedEvent,
    TranscriptEvent,
    TranscriptFailedEvent,
)
from .detect import SAMPLE_RATE, Samples, VoiceDetector
from .endpoint import Endpointer, EndpointSettings, SpeechBegan, Utterance
from .recognize import RecognitionError, Recognizer, RecognizerRunner

if TYPE_CHECKING:
    from ..system import StreamingSystem

log = logging.getLogger(__name__)

LISTENING_MARK = "…"
"""The user caption shown (not final) while a user speaks, until the transcript."""


@dataclass
class _Voice:
    """One peer's audio, on its way to utterances."""

    room: str | None
    endpointer: Endpointer
    resampler: Resampler


@dataclass(frozen=True)
class _Job:
    peer_id: str
    room: str | None
    utterance: Utterance


class Listener(EventEmitter):
    def __init__(self, recognizer: Recognizer, *,
                 detector: Callable[[], VoiceDetector] | None = None,
                 settings: EndpointSettings | None = None, timeout_s: float = 20.0,
                 backlog: int = 8, max_stuck: int = 2) -> None:
        """``detector`` makes each peer's voice activity detector (default: Silero, from
        the ``[whisper]`` extra)."""
        super().__init__()
        if detector is None:
            from .whisper import SileroDetector

            detector = SileroDetector
        self._new_detector = detector
        self.settings = settings or EndpointSettings()
        self.runner = RecognizerRunner(recognizer, timeout_s=timeout_s, max_stuck=max_stuck)
        self.backlog = backlog
        self._voices: dict[str, _Voice] = {}
        self._jobs: deque[_Job] = deque()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self._detach: list[Callable[[], None]] = []
        self.transcripts = 0
        self.failures = 0

    @property
    def pending(self) -> int:
        """Utterances waiting for the recognizer."""
        return len(self._jobs)

    def hear(self, chunk: AudioChunk) -> None:
        """One "incoming-audio" chunk (s16 PCM, any rate and channel count)."""
        if self._closed or chunk.peer_id is None:
            return
        voice = self._voices.get(chunk.peer_id)
        if voice is None:
            voice = self._voices[chunk.peer_id] = _Voice(
                chunk.room, Endpointer(self._new_detector(), self.settings),
                Resampler(SAMPLE_RATE, 1))
        pcm = np.frombuffer(bytes(chunk.data), np.int16).reshape(-1, chunk.channels)
        mono = voice.resampler.convert(pcm, chunk.sample_rate).reshape(-1)
        samples: Samples = mono.astype(np.float32) / 32768.0
        for event in voice.endpointer.feed(samples, chunk.timestamp):
            self._handle(chunk.peer_id, voice.room, event)

    def peer_left(self, peer_id: str) -> None:
        """The peer is gone: what it was saying is transcribed, its state dropped."""
        voice = self._voices.pop(peer_id, None)
        if voice is None:
            return
        utterance = voice.endpointer.flush()
        if utterance is not None:
            log.info("peer %s left mid-utterance: transcribing its %.1f s", peer_id,
                     len(utterance.samples) / SAMPLE_RATE)
            self._queue(_Job(peer_id, voice.room, utterance))

    def _handle(self, peer_id: str, room: str | None, event: SpeechBegan | Utterance) -> None:
        match event:
            case SpeechBegan(start_ms):
                self.emit("speech-started", SpeechStartedEvent(peer_id, room, start_ms))
            case Utterance():
                self._queue(_Job(peer_id, room, event))

    def _queue(self, job: _Job) -> None:
        if len(self._jobs) >= self.backlog:
            dropped = self._jobs.popleft()
            self._failed(dropped, f"backlog full: expected at most {self.backlog} utterances "
                                  f"waiting for the recognizer, got one more (the oldest "
                                  f"is dropped)")
        self._jobs.append(job)
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work(),
                                                                  name="listener")
        self._wake.set()

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._jobs:
                await self._transcribe(self._jobs.popleft())

    async def _transcribe(self, job: _Job) -> None:
        u = job.utterance
        if u.voiced_ms < self.settings.min_speech_ms:  # the tail of a cut utterance
            text = ""
        else:
            try:
                text = await self.runner.transcribe(u.samples)
            except RecognitionError as exc:
                self._failed(job, str(exc))
                return
        self.transcripts += 1
        log.info("peer %s: heard %r (%.1f s)", job.peer_id, text,
                 (u.end_ms - u.start_ms) / 1000)
        self.emit("transcript", TranscriptEvent(job.peer_id, job.room, text, u.start_ms,
                                                u.end_ms, u.final))

    def _failed(self, job: _Job, reason: str) -> None:
        self.failures += 1
        log.warning("peer %s: no transcript of %.1f s of speech: %s", job.peer_id,
                    (job.utterance.end_ms - job.utterance.start_ms) / 1000, reason)
        self.emit("transcript-failed", TranscriptFailedEvent(
            job.peer_id, job.room, job.utterance.start_ms, job.utterance.end_ms, reason))

    def attach(self, system: StreamingSystem, *, captions: bool = True) -> Listener:
        """Hear every room of ``system``; with ``captions``, show each user what was heard
        (a "…" caption while they speak, then the transcript). ``close()`` detaches."""
        server = system.server

        def left(event: PeerDisconnectedEvent) -> None:
            self.peer_left(event.peer_id)

        wiring: list[tuple[EventEmitter, str, Callable[..., Any]]] = [
            (server, "incoming-audio", self.hear), (server, "peer-disconnected", left)]
        if captions:
            async def caption(text: str, final: bool, peer_id: str, room: str | None) -> None:
                target = system.rooms.get(room or DEFAULT_ROOM)
                if target is not None:
                    await target.bridge.send_caption(text, "user", final, peer_id)

            async def speaking(event: SpeechStartedEvent) -> None:
                await caption(LISTENING_MARK, False, event.peer_id, event.room)

            async def heard(event: TranscriptEvent) -> None:
                await caption(event.text, True, event.peer_id, event.room)

            async def missed(event: TranscriptFailedEvent) -> None:
                await caption("", True, event.peer_id, event.room)

            wiring += [(self, "speech-started", speaking), (self, "transcript", heard),
                       (self, "transcript-failed", missed)]
        for emitter, name, handler in wiring:
            emitter.on(name, handler)
            self._detach.append(_remover(emitter, name, handler))
        return self

    async def close(self, drain_s: float = 5.0) -> None:
        """Stop hearing; utterances still waiting get no transcript. Waits up to
        ``drain_s`` for a transcription under way (a hung one is left to its daemon
        thread, and logged)."""
        self._closed = True
        for detach in self._detach:
            detach()
        self._detach.clear()
        self._voices.clear()
        if self._jobs:
            log.info("listener closed with %d utterances not transcribed", len(self._jobs))
            self._jobs.clear()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        still = await self.runner.drain(drain_s)
        if still:
            log.warning("listener closed: %d recognizer calls still running (hung)", still)

    async def __aenter__(self) -> Listener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _remover(emitter: EventEmitter, name: str, handler: Callable[..., Any]) -> Callable[[], None]:
    return lambda: emitter.remove_listener(name, handler)
