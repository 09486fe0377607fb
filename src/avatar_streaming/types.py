"""The data that crosses the public API: frames, chunks and event payloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Buffer = bytes | bytearray | memoryview | np.ndarray
VideoFormat = Literal["RGBA", "YUV", "JPEG", "PNG"]
AudioFormat = Literal["PCM", "OPUS", "MP3"]


@dataclass
class VideoFrame:
    """One rendered frame.

    ``data`` holds ``width * height * 4`` bytes of RGBA (or an H x W x 4 uint8
    array); YUV is I420 planar (``width * height * 3 / 2`` bytes); JPEG and PNG
    are encoded images.
    """

    data: Buffer
    width: int
    height: int
    timestamp: float
    """Capture time, Unix milliseconds."""
    format: VideoFormat = "RGBA"


@dataclass
class AudioChunk:
    """A piece of audio: signed 16-bit little-endian interleaved PCM.

    100 ms at 16 kHz mono is 1,600 samples, 3,200 bytes.
    """

    data: Buffer
    sample_rate: int
    channels: int
    timestamp: float
    """Capture time, Unix milliseconds."""
    format: AudioFormat = "PCM"
    peer_id: str | None = None
    """For "incoming-audio": the peer whose microphone this is."""
    room: str | None = None
    """For "incoming-audio": the room of that peer."""


@dataclass(frozen=True)
class PeerDisconnectedEvent:
    """Payload of "peer-disconnected".

    ``reason`` is one of "closed" (the client closed its WebSocket, hung up its
    peer connection, or DELETEd its WHEP session), "server-stop", "ice-failed"
    (ICE or DTLS failed, or ICE consent expired: the network vanished) or
    "timeout" (two pings unanswered).
    """

    peer_id: str
    reason: str
    """Also "room-closed": the peer's room was closed under it."""
    room: str = "default"


@dataclass(frozen=True)
class OfferEvent:
    peer_id: str
    offer: dict[str, Any]
    room: str = "default"


@dataclass(frozen=True)
class AnswerEvent:
    peer_id: str
    answer: dict[str, Any]
    room: str = "default"


@dataclass(frozen=True)
class IceCandidateEvent:
    peer_id: str
    candidate: dict[str, Any] | None
    """The client's RTCIceCandidateInit; None marks the end of its candidates."""
    room: str = "default"


@dataclass(frozen=True, slots=True)
class FrameSentEvent:
    """Payload of the bridge's "frame-sent": one video frame, encoded once, handed to every
    viewer of the room (diagnostics; emitted only while someone listens). Times are Unix ms."""

    timestamp: float | None
    """The frame's capture time as pushed (None: the placeholder before any push)."""
    pushed_at: float | None
    """When its push was accepted."""
    encode_started_at: float
    """When the encoder took it (converting it first, if not yet converted)."""
    sent_at: float
    """When its last packet went to the viewers' transports."""
    rtp_timestamp: int
    """Its RTP time (90 kHz): when the audio of its capture time leaves (media/sync.py)."""
    keyframe: bool
    repeat: bool
    """The same picture sent again (the renderer paused), not a new push."""
    packets: int
    payload_bytes: int


@dataclass(frozen=True)
class RoomClosedEvent:
    """Payload of "room-closed"."""

    room: str
    """The room's name."""
    reason: str
    """"closed" (``room.close()``), "idle" (opened on demand, nobody left for
    ``idleCloseS``) or "server-stop"."""


@dataclass(frozen=True)
class PlaybackEvent:
    """Payload of "playback-started" and "playback-finished"."""

    timestamp: float
    """Capture time (Unix ms) of the speech concerned: its first sample when it starts,
    the end of its last sample when it finishes."""
    at: float
    """When it started or finished playing (Unix ms)."""


@dataclass(frozen=True)
class PlaybackInterruptedEvent:
    """Payload of "playback-interrupted"."""

    dropped_ms: float
    """How much queued speech was dropped."""
    timestamp: float | None
    """Capture time (Unix ms) up to which speech had played; None if none had."""
    at: float
    """When it was interrupted (Unix ms)."""
    dropped_frames: int = 0
    """How many video frames pushed ahead of the dropped speech were dropped with it."""


CaptionRole = Literal["user", "avatar"]


@dataclass(frozen=True)
class Caption:
    """A line of captions, sent to every peer of a room as a ``caption`` message."""

    text: str
    role: CaptionRole = "avatar"
    """"user": what a user was heard saying; "avatar": what the avatar says."""
    final: bool = True
    """False while the line may still change (a later caption of the same role and peer
    replaces it)."""
    peer_id: str = "avatar"
    """The user who spoke ("user"); for "avatar", whatever the application names it."""


@dataclass(frozen=True)
class SpeechStartedEvent:
    """Payload of the listener's "speech-started": a user began to speak (barge-in)."""

    peer_id: str
    room: str | None
    start: float
    """Capture time of the first voiced sound, Unix ms."""


@dataclass(frozen=True)
class TranscriptEvent:
    """Payload of the listener's "transcript": what the recognizer heard in one utterance."""

    peer_id: str
    room: str | None
    text: str
    start: float
    """Capture time of the utterance's first sample, Unix ms."""
    end: float
    """Capture time just after its last sample, Unix ms."""
    final: bool = True
    """False for a piece of a longer utterance cut at its length cap (the next piece
    follows); True once the speaker paused, or left."""


@dataclass(frozen=True)
class TranscriptFailedEvent:
    """Payload of the listener's "transcript-failed": an utterance that got no transcript."""

    peer_id: str
    room: str | None
    start: float
    end: float
    reason: str
    """What went wrong: the recognizer raised, took longer than its timeout, or the
    backlog of utterances waiting for it was full."""
