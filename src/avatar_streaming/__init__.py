"""Stream a talking AI avatar to browsers over WebRTC, and bring the user's voice back.

Push rendered frames and synthesized speech into ``system.bridge``; listen
for the users' microphones on its "incoming-audio" event, or have them transcribed
(``avatar_streaming.listen``, the ``[whisper]`` extra).
"""

from __future__ import annotations

from .bridge import MediaBridge
from .config import (
    IceServer,
    JanusConfig,
    MediaConfig,
    RoomsConfig,
    StreamingSystemConfig,
    WebRTCConfig,
)
from .errors import (
    AudioQueueFullError,
    AvatarStreamingError,
    CallerError,
    CaptionError,
    ChunkError,
    ConfigError,
    FrameError,
    NegotiationError,
    ProtocolError,
    RemoteError,
    RoomError,
    RoomLimitError,
    SfuError,
    SfuSessionLost,
)
from .rooms import Room
from .rtc.peer import Peer
from .signaling.access import make_room_token
from .signaling.server import SignalingServer
from .system import StreamingSystem, create_streaming_system
from .types import (
    AnswerEvent,
    AudioChunk,
    Caption,
    FrameSentEvent,
    IceCandidateEvent,
    OfferEvent,
    PeerDisconnectedEvent,
    PlaybackEvent,
    PlaybackInterruptedEvent,
    RoomClosedEvent,
    SpeechStartedEvent,
    TranscriptEvent,
    TranscriptFailedEvent,
    VideoFrame,
)

__all__ = [
    "AnswerEvent",
    "AudioChunk",
    "AudioQueueFullError",
    "AvatarStreamingError",
    "CallerError",
    "Caption",
    "CaptionError",
    "ChunkError",
    "ConfigError",
    "FrameError",
    "FrameSentEvent",
    "IceCandidateEvent",
    "IceServer",
    "JanusConfig",
    "MediaBridge",
    "MediaConfig",
    "NegotiationError",
    "OfferEvent",
    "Peer",
    "PeerDisconnectedEvent",
    "PlaybackEvent",
    "PlaybackInterruptedEvent",
    "ProtocolError",
    "RemoteError",
    "Room",
    "RoomClosedEvent",
    "RoomError",
    "RoomLimitError",
    "RoomsConfig",
    "SfuError",
    "SfuSessionLost",
    "SignalingServer",
    "SpeechStartedEvent",
    "StreamingSystem",
    "StreamingSystemConfig",
    "TranscriptEvent",
    "TranscriptFailedEvent",
    "VideoFrame",
    "WebRTCConfig",
    "create_streaming_system",
    "make_room_token",
]
