"""What every RTCPeerConnection of ours shares, a viewer's or the Janus publication's:
the configured ICE servers and policy, and senders fed by the shared encoders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpSender,
)
from aiortc.mediastreams import MediaStreamTrack

from ..codecs import Codec, codec
from ..config import WebRTCConfig
from . import _aiortc_compat as compat
from .rtp_out import ParkedTrack, RtpOut


@dataclass(frozen=True)
class PeerMedia:
    """What one of our peer connections sends and where the audio it receives goes: a
    browser's peer (rtc/peer.py) and the Janus publication and subscriptions (sfu/peers.py)
    alike."""

    attach_sender: Callable[[str, RTCRtpSender], RtpOut]
    """Serve this sender the shared stream of its kind ("video" or "audio")."""
    on_remote_audio: Callable[[str, MediaStreamTrack], RemoteAudioReader]
    """Read a user's audio track: the peer's id, or ``janus-<feed id>`` through Janus."""


class RemoteAudioReader(Protocol):
    """Consumes a remote audio track until stopped (or the track ends)."""

    async def stop(self) -> None: ...


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
