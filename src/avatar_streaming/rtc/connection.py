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

from ..codecs import Codec, codec
from ..config import WebRTCConfig
from . import _aiortc_compat as compat
from .rtp_out import ParkedTrack, RtpOut


def configured_codec(config: WebRTCConfig, kind: str) -> Codec:
    return codec(config.video_codec if kind == "video" else config.audio_codec)


def new_peer_connection(config: WebRTCConfig) -> RTCPeerConnection:
    """A connection with the configured ICE servers and transport policy."""
    compat.register_codecs()
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
    mime = configured_codec(config, kind).mime_lower
    transceiver.setCodecPreferences([
        c for c in RTCRtpSender.getCapabilities(kind).codecs
        if c.mimeType.lower() in (mime, f"{kind}/rtx")])
    return track, attach(kind, transceiver.sender)
