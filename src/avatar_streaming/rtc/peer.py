"""One browser's WebRTC connection: negotiation, tracks and teardown.

A Peer answers the browser's offer with our video and audio tracks, receives
the microphone, and reports "connected" and "failed" (ICE or DTLS). It speaks
no signaling: the server feeds it offers and candidates and sends its answer.
"""

from __future__ import annotations

import asyncio
import logging

from aiortc import (
    RTCIceCandidate,
    RTCIceTransport,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.exceptions import InternalError, InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription

from ..config import DEFAULT_ROOM, WebRTCConfig
from ..errors import NegotiationError, ProtocolError
from ..events import EventEmitter
from .connection import (
    PeerMedia,
    RemoteAudioReader,
    add_shared_sender,
    configured_codec,
    new_peer_connection,
)
from .ice import allows_remote, filter_offer_candidates, gathering_on
from .rtp_out import RtpOut
from .sdp import Candidate, check_offer, parse_candidate
from .state import PeerEvent, PeerState, next_state

log = logging.getLogger(__name__)

class Peer(EventEmitter):
    """Events: "connected" (media flows), "failed" (ICE or DTLS failed, or consent expired:
    the network is gone), "lost" (the remote closed its connection). After "failed" or
    "lost" the peer is CLOSING, until ``close()``."""

    def __init__(self, peer_id: str, config: WebRTCConfig, media: PeerMedia, *,
                 room: str = DEFAULT_ROOM, identity: str | None = None,
                 mic: bool = True) -> None:
        super().__init__()
        self.id = peer_id
        self.room = room
        """The name of the room this peer is in."""
        self.identity = identity
        """Who the user is, as its room token said (``sub``); None without one."""
        self.mic = mic
        """Whether this peer may send a microphone (its room token's ``mic``): without it,
        our answer's audio is sendonly and nothing it sends is heard."""
        self.state = PeerState.CONNECTING
        self._config = config
        self._media = media
        self._pc: RTCPeerConnection | None = None
        self._tracks: list[MediaStreamTrack] = []
        self._outputs: list[RtpOut] = []
        self._readers: list[RemoteAudioReader] = []
        self._early_candidates: list[RTCIceCandidate | None] = []
        self._mids: tuple[str, ...] = ()  # the offer's, once it is checked
        self._closing = False
        self._ice: list[RTCIceTransport] = []
        """Our ICE transports, to tell a network that vanished from a remote that hung up:
        when consent expires, aioice closes its connection, the DTLS transport above it
        closes and the ICE transport turns "failed" before the peer connection reads
        "closed". A remote that hangs up closes DTLS alone, and its ICE goes from
        "completed" to "closed"."""

    @property
    def pc(self) -> RTCPeerConnection | None:
        return self._pc

    def _advance(self, event: PeerEvent) -> None:
        self.state = next_state(self.state, event)

    async def negotiate(self, offer_sdp: str) -> str:
        """Apply the browser's offer; return our answer SDP (candidates included).

        Raises NegotiationError when the offer cannot be applied; the peer is
        then back where it was and the client may send another offer.
        """
        self._advance(PeerEvent.OFFER)
        try:
            answer = await self._answer(offer_sdp)
        except Exception:  # NegotiationError, or a failure of ours: either way, start over
            await self._discard_pc()
            self._advance(PeerEvent.REJECTED)
            raise
        self._advance(PeerEvent.ANSWERED)
        pc = self._pc
        assert pc is not None
        early, self._early_candidates = self._early_candidates, []
        for candidate in early:
            await pc.addIceCandidate(candidate)
        return answer

    async def _answer(self, offer_sdp: str) -> str:
        checked = check_offer(offer_sdp)
        kinds, self._mids = checked.kinds, checked.mids
        self._check_codecs(offer_sdp)
        pc = self._pc = new_peer_connection(self._config)
        pc.on("connectionstatechange", self._on_connection_state)
        pc.on("track", self._on_track)
        if "video" in kinds:
            self._add_sender(pc, "video", "sendonly")
        if "audio" in kinds:
            self._add_sender(pc, "audio", "sendrecv" if self.mic else "sendonly")
        offer = filter_offer_candidates(offer_sdp, self._config.ice_host_addresses)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            with gathering_on(self._config.ice_host_addresses):
                await pc.setLocalDescription(await pc.createAnswer())
            self._watch_ice(pc)
        except (ValueError, AssertionError, OperationError, InternalError,
                InvalidStateError) as exc:
            raise NegotiationError(f"offer: expected SDP that a peer connection can apply, "
                                   f"got an error applying it: {exc or type(exc).__name__}"
                                   ) from None
        return str(pc.localDescription.sdp)

    def _add_sender(self, pc: RTCPeerConnection, kind: str, direction: str) -> None:
        track, output = add_shared_sender(pc, kind, direction, self._config,
                                          self._media.attach_sender)
        self._tracks.append(track)
        self._outputs.append(output)

    def _check_codecs(self, offer_sdp: str) -> None:
        """An offer without our configured codec gets an error naming it, not a fallback."""
        for media in SessionDescription.parse(offer_sdp).media:
            if media.kind not in ("audio", "video") or media.direction == "inactive":
                continue
            codec = configured_codec(self._config, media.kind)
            offered = {c.mimeType.lower() for c in media.rtp.codecs}
            if codec.mime_lower not in offered:
                raise NegotiationError(
                    f"offer: expected the {media.kind} codec {codec.name} (as configured), "
                    f"got only {', '.join(sorted(offered)) or 'none'}"
                )

    async def add_candidate(self, candidate: Candidate) -> None:
        """Add a trickled remote candidate (``text`` None: the end of them).

        Raises NegotiationError for a candidate that does not parse, ProtocolError for
        one that comes before any offer. Candidates outside where our ICE may go (see
        ``webrtc.iceHostAddresses``) are checked, then skipped.
        """
        if self.state is PeerState.CONNECTING:
            raise ProtocolError("ice-candidate: expected an offer first, got a candidate "
                                "before any offer (or after one that was refused)")
        ice = None if candidate.text is None else parse_candidate(candidate)
        if ice is not None:
            self._check_section(candidate)
            if not allows_remote(candidate.text or "", self._config.ice_host_addresses):
                log.debug("peer %s: skipping candidate outside our host addresses", self.id)
                return
        if self.state is PeerState.NEGOTIATING:
            self._early_candidates.append(ice)
        elif self._pc is not None and self.state in (PeerState.ANSWERED, PeerState.CONNECTED):
            await self._pc.addIceCandidate(ice)

    def _check_section(self, candidate: Candidate) -> None:
        """The media section a candidate names must be one of the offer's: aiortc drops a
        candidate for any other without a word."""
        if candidate.sdp_mid is not None:
            if candidate.sdp_mid not in self._mids:
                raise NegotiationError(
                    f"ice-candidate: expected sdpMid one of {list(self._mids)} (the offer's "
                    f"a=mid values), got {candidate.sdp_mid!r:.80}")
        elif candidate.sdp_mline_index is not None and \
                candidate.sdp_mline_index >= len(self._mids):
            raise NegotiationError(
                f"ice-candidate: expected sdpMLineIndex below {len(self._mids)} (the offer's "
                f"media sections), got {candidate.sdp_mline_index}")

    def _on_connection_state(self) -> None:
        pc = self._pc
        if pc is None:
            return
        log.debug("peer %s: connection %s", self.id, pc.connectionState)
        if self.state not in (PeerState.ANSWERED, PeerState.CONNECTED):
            return  # closing, or its close is ours
        if pc.connectionState == "connected" and self.state is PeerState.ANSWERED:
            self._advance(PeerEvent.MEDIA_UP)
            self.emit("connected")
        elif pc.connectionState == "failed" or (pc.connectionState == "closed"
                                                and self._ice_failed):
            self._advance(PeerEvent.FAILED)
            self.emit("failed")
        elif pc.connectionState == "closed":
            self._advance(PeerEvent.LOST)
            self.emit("lost")

    def _watch_ice(self, pc: RTCPeerConnection) -> None:
        for transceiver in pc.getTransceivers():
            dtls = transceiver.sender.transport
            if dtls is not None and dtls.transport not in self._ice:
                self._ice.append(dtls.transport)

    @property
    def _ice_failed(self) -> bool:
        """Whether an ICE transport failed. The peer connection's iceConnectionState does
        not say it when consent expires: it reads "closed" once the DTLS transport has
        closed, which comes first."""
        return any(ice.state == "failed" for ice in self._ice)

    def _on_track(self, track: MediaStreamTrack) -> None:
        log.info("peer %s: receiving its %s", self.id,
                 "microphone" if track.kind == "audio" else f"{track.kind} track")
        if track.kind == "audio" and self.mic:
            self._readers.append(self._media.on_remote_audio(self.id, track))

    async def close(self) -> None:
        """Stop our tracks and close the connection. Idempotent: a peer that failed or
        was lost is already CLOSING, and this finishes it."""
        if self.state is PeerState.CLOSED or self._closing:
            return
        self._closing = True
        if self.state is not PeerState.CLOSING:
            self._advance(PeerEvent.CLOSE)
        await self._discard_pc()
        self._advance(PeerEvent.CLOSED)

    async def _discard_pc(self) -> None:
        for output in self._outputs:
            output.close()
        self._outputs.clear()
        for track in self._tracks:
            track.stop()
        self._tracks.clear()
        readers, self._readers = self._readers, []
        await asyncio.gather(*(r.stop() for r in readers))
        pc, self._pc = self._pc, None
        if pc is not None:
            try:
                await pc.close()
            except Exception:  # one that a refused offer left half built: it holds nothing
                log.warning("peer %s: closing its peer connection failed", self.id,
                            exc_info=True)
        self._ice.clear()

