"""StreamingSystem: wires the bridge, the media fan-outs and the signaling server."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from aiortc.mediastreams import MediaStreamTrack

from .bridge import MediaBridge
from .config import StreamingSystemConfig, load_config
from .errors import ConfigError
from .media.audio import TRACK_RATE, AudioQueue
from .media.fanout import AudioFanout, VideoFanout
from .media.incoming import IncomingAudio
from .rtc.peer import Peer, PeerMedia
from .signaling.server import SignalingServer
from .types import AudioChunk

log = logging.getLogger(__name__)

SUPPORTED_VIDEO_CODECS = ("VP8", "H264")


class StreamingSystem:
    """The whole system: ``bridge`` to push into and listen on, ``server`` for browsers."""

    def __init__(self, config: StreamingSystemConfig) -> None:
        if config.webrtc.video_codec not in SUPPORTED_VIDEO_CODECS:
            raise ConfigError(f"webrtc.videoCodec: expected one of "
                              f"{', '.join(SUPPORTED_VIDEO_CODECS)} (supported by this build), "
                              f"got {config.webrtc.video_codec!r}")
        self.config = config
        media = config.media
        self.video = VideoFanout(media.video_fps, media.video_width, media.video_height)
        self.audio = AudioFanout(AudioQueue(int(media.audio_queue_s * TRACK_RATE)))
        self.bridge = MediaBridge(media, self.video, self.audio.queue)
        self.server = SignalingServer(config.webrtc, self._peer_media, self.get_status)
        self.bridge.on("video-frame", lambda f: self.server.emit("media-video-frame", f))
        self.bridge.on("audio-chunk", lambda c: self.server.emit("media-audio-chunk", c))
        self.server.on("incoming-audio", self.bridge.handle_incoming_audio)
        self._stopped = False

    async def listen(self) -> None:
        """Start the signaling server (done by create_streaming_system)."""
        await self.server.start()

    async def start(self) -> None:
        """Start the media bridge: pushes are accepted and audio plays."""
        self.audio.start()
        await self.bridge.start()

    async def stop(self) -> None:
        """bridge.stop(), then server.stop(): every peer is disconnected. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        await self.bridge.stop()
        await self.audio.stop()
        await self.server.stop()

    def get_status(self) -> dict[str, Any]:
        return {"peerCount": self.server.peer_count, "metrics": self.bridge.get_metrics()}

    async def __aenter__(self) -> StreamingSystem:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    def _peer_media(self) -> PeerMedia:
        return PeerMedia(video_track=self.video.track, audio_track=self.audio.track,
                         on_remote_audio=self._on_remote_audio)

    def _on_remote_audio(self, peer: Peer, track: MediaStreamTrack) -> IncomingAudio:
        media = self.config.media
        return IncomingAudio(
            track, peer.id, sample_rate=media.audio_sample_rate, channels=media.audio_channels,
            chunk_ms=media.incoming_audio_chunk_ms, emit=self._emit_incoming)

    def _emit_incoming(self, chunk: AudioChunk) -> None:
        self.server.emit("incoming-audio", chunk)


async def create_streaming_system(
    config: StreamingSystemConfig | Mapping[str, Any] | None = None,
) -> StreamingSystem:
    """Build the system and start its signaling server; returns once it listens."""
    system = StreamingSystem(load_config(config))
    await system.listen()
    return system
