"""StreamingSystem: wires the bridge, the shared encoders and the signaling server."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from aiortc import RTCRtpSender
from aiortc.mediastreams import MediaStreamTrack

from .bridge import MediaBridge
from .config import StreamingSystemConfig, load_config
from .errors import ConfigError
from .media import vp9
from .media.audio import TRACK_RATE, AudioQueue
from .media.encoder import CLOCK_RATES, VIDEO_CLOCK_RATE, AudioEncoder, VideoEncoder
from .media.fanout import Broadcast
from .media.incoming import IncomingAudio
from .media.sources import AudioPlayout, VideoSource
from .media.sync import AvSync
from .prometheus import SystemMetrics
from .rtc.peer import Peer, PeerMedia
from .rtc.rtp_out import RtpOut
from .sfu import JanusRelay
from .sfu.peers import RelayMedia
from .signaling.server import SignalingServer
from .types import AudioChunk

log = logging.getLogger(__name__)

SUPPORTED_VIDEO_CODECS = ("VP8", "VP9", "H264")
vp9.register()


class StreamingSystem:
    """The whole system: ``bridge`` to push into and listen on, ``server`` for browsers.

    One video encoder and one audio encoder serve every peer; each peer only
    adds its own RTP headers, SRTP and sends (see media/fanout.py).
    """

    def __init__(self, config: StreamingSystemConfig) -> None:
        webrtc, media = config.webrtc, config.media
        if webrtc.video_codec not in SUPPORTED_VIDEO_CODECS:
            raise ConfigError(f"webrtc.videoCodec: expected one of "
                              f"{', '.join(SUPPORTED_VIDEO_CODECS)} (supported by this build), "
                              f"got {webrtc.video_codec!r}")
        self.config = config
        self.sync = AvSync(audio_lead_ms=media.audio_lead_ms)
        self.video = VideoSource(media.video_width, media.video_height, self.sync)
        self.video_stream = Broadcast("video", VIDEO_CLOCK_RATE)
        self.video_encoder = VideoEncoder(webrtc.video_codec, self.video, self.video_stream,
                                          fps=media.video_fps,
                                          bitrate_bps=media.video_bitrate_bps, sync=self.sync)
        self.audio_stream = Broadcast("audio", CLOCK_RATES[webrtc.audio_codec], history=128)
        self.audio_encoder = AudioEncoder(webrtc.audio_codec, self.audio_stream,
                                          media.audio_bitrate_bps)
        self.playout = AudioPlayout(AudioQueue(int(media.audio_queue_s * TRACK_RATE)),
                                    self.audio_encoder.encode, self._playback_event,
                                    sync=self.sync)
        self.bridge = MediaBridge(media, self.video, self.playout)
        self.server = SignalingServer(webrtc, self._peer_media, self.get_status)
        self.incoming_audio_chunks = 0
        self.prometheus = SystemMetrics(self)
        self.bridge.metrics.latency_observer = self.prometheus.push_latency_ms.observe
        self.server.metrics_text = self.prometheus.render
        self.bridge.on("video-frame", lambda f: self.server.emit("media-video-frame", f))
        self.bridge.on("audio-chunk", lambda c: self.server.emit("media-audio-chunk", c))
        self.server.on("incoming-audio", self.bridge.handle_incoming_audio)
        self.sfu: JanusRelay | None = None
        """The relay into Janus, when ``webrtc.sfu`` is set."""
        if webrtc.sfu is not None:
            self.sfu = JanusRelay(webrtc.sfu, webrtc,
                                  RelayMedia(self._attach_sender, self._read_remote_audio))
        self._stopped = False

    async def listen(self) -> None:
        """Start the signaling server, the media clocks and the SFU relay, if any (done by
        create_streaming_system). The relay connects in the background."""
        self.video_encoder.start()
        self.playout.start()
        await self.server.start()
        if self.sfu is not None:
            self.sfu.start()

    async def start(self) -> None:
        """Start the media bridge: pushes are accepted."""
        await self.bridge.start()

    async def stop(self) -> None:
        """bridge.stop(), then server.stop(): every peer is disconnected, and the SFU room
        left. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        await self.bridge.stop()
        if self.sfu is not None:
            await self.sfu.stop()
        await self.server.stop()
        await self.playout.stop()
        await self.video_encoder.stop()

    def get_status(self) -> dict[str, Any]:
        status = {"peerCount": self.server.peer_count, "metrics": self.bridge.get_metrics()}
        if self.sfu is not None:
            status["sfu"] = self.sfu.status()
        return status

    async def __aenter__(self) -> StreamingSystem:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    def _peer_media(self) -> PeerMedia:
        return PeerMedia(attach_sender=self._attach_sender,
                         on_remote_audio=self._on_remote_audio)

    def _attach_sender(self, kind: str, sender: RTCRtpSender) -> RtpOut:
        if kind == "video":
            return RtpOut(sender, self.video_stream, self.video_encoder.request_keyframe)
        return RtpOut(sender, self.audio_stream)

    def _on_remote_audio(self, peer: Peer, track: MediaStreamTrack) -> IncomingAudio:
        return self._read_remote_audio(peer.id, track)

    def _read_remote_audio(self, user_id: str, track: MediaStreamTrack) -> IncomingAudio:
        """A user's microphone, from a browser peer or through the SFU, to "incoming-audio"."""
        media = self.config.media
        return IncomingAudio(
            track, user_id, sample_rate=media.audio_sample_rate, channels=media.audio_channels,
            chunk_ms=media.incoming_audio_chunk_ms, emit=self._emit_incoming)

    def _playback_event(self, name: str, payload: object) -> None:
        log.debug("%s: %s", name, payload)
        self.bridge.emit(name, payload)

    def _emit_incoming(self, chunk: AudioChunk) -> None:
        self.incoming_audio_chunks += 1
        self.server.emit("incoming-audio", chunk)


async def create_streaming_system(
    config: StreamingSystemConfig | Mapping[str, Any] | None = None,
) -> StreamingSystem:
    """Build the system and start its signaling server; returns once it listens."""
    system = StreamingSystem(load_config(config))
    await system.listen()
    return system
