"""What every RTCPeerConnection of ours shares, a viewer's or the Janus publication's:
the configured ICE servers and policy, and senders fed by the shared encoders."""

from __future__ import annotations

from collections.abc import Callable

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpSender,
)

from ..config import WebRTCConfig
from .rtp_out import ParkedTrack, RtpOut

MIME_TYPES = {"VP8": "video/VP8", "VP9": "video/VP9", "H264": "video/H264",
              "opus": "audio/opus", "pcmu": "audio/PCMU", "pcma": "audio/PCMA"}
"""Our configured codec names and their MIME types."""


def configured_codec(config: WebRTCConfig, kind: str) -> str:
    return config.video_codec if kind == "video" else config.audio_codec


def new_peer_connection(config: WebRTCConfig) -> RTCPeerConnection:
    """A connection with the configured ICE servers and transport policy."""
    return RTCPeerConnection(RTCConfiguration(
        iceServers=[RTCIceServer(urls=list(s.urls), username=s.username,
                                 credential=s.credential) for s in config.ice_servers],
        iceTransportPolicy=RTCIceTransportPolicy(config.ice_transport_policy)))


def add_shared_sender(pc: RTCPeerConnection, kind: str, direction: str, config: WebRTCConfig,
                      attach: Callable[[str, RTCRtpSender], RtpOut]
                      ) -> tuple[ParkedTrack, RtpOut]:
    """A sender of ``kind`` offering only the configured codec (and RTX), served by
    ``attach`` from the shared encoder; its own track never yields a frame."""
    track = ParkedTrack(kind)
    transceiver = pc.addTransceiver(track, direction=direction)
    mime = MIME_TYPES[configured_codec(config, kind)].lower()
    transceiver.setCodecPreferences([
        c for c in RTCRtpSender.getCapabilities(kind).codecs
        if c.mimeType.lower() in (mime, f"{kind}/rtx")])
    return track, attach(kind, transceiver.sender)
