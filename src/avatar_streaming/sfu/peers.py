"""Our two kinds of connection to Janus: the one publication, and a subscription per user.

The publication offers; its senders are the shared streams, attached exactly as a
browser viewer's are (nothing is encoded twice). A subscription answers Janus's offer
for one user's microphone and hands the track to the same reader as a browser's.
Candidates travel in the SDP both ways (Janus half-trickles by default; aiortc gathers
before it returns the description).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiortc import (
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription

from ..config import JanusConfig, WebRTCConfig
from ..errors import SfuError, SfuSessionLost
from ..rtc.connection import (
    PeerMedia,
    RemoteAudioReader,
    add_shared_sender,
    configured_codec,
    new_peer_connection,
)
from ..rtc.ice import filter_offer_candidates, gathering_on
from ..rtc.rtp_out import ParkedTrack, RtpOut
from . import videoroom
from .janus import JanusHandle, JanusSession

log = logging.getLogger(__name__)

def _jsep(pc: RTCPeerConnection) -> dict[str, Any]:
    description = pc.localDescription
    return {"type": description.type, "sdp": description.sdp, "trickle": False}


class Publication:
    """Our publisher in the room. ``failed`` is set when its connection fails or closes."""

    def __init__(self, handle: JanusHandle, config: JanusConfig, webrtc: WebRTCConfig,
                 media: PeerMedia) -> None:
        self.handle = handle
        self._config = config
        self._webrtc = webrtc
        self._media = media
        self.feed_id: int | None = None
        self.private_id: int | None = None
        self.failed = asyncio.Event()
        self.connected = asyncio.Event()
        self._pc: RTCPeerConnection | None = None
        self._tracks: list[ParkedTrack] = []
        self._outputs: list[RtpOut] = []

    async def join(self) -> list[videoroom.Feed]:
        """Create the room if need be and join it; the users already publishing audio."""
        reply = await self.handle.send(videoroom.exists(self._config))
        if not reply.data.get("exists"):
            try:
                await self.handle.send(videoroom.create(
                    self._config, self._webrtc.video_codec, self._webrtc.audio_codec))
                log.info("janus: created room %s", self._config.room)
            except SfuError as exc:
                if exc.code != videoroom.ROOM_EXISTS:
                    raise
        reply = await self.handle.send(videoroom.join_publisher(self._config))
        self.feed_id = reply.data.get("id")
        self.private_id = reply.data.get("private_id")
        return videoroom.audio_feeds(reply.data, self._config.display)

    async def publish(self) -> None:
        """Offer the shared streams; apply Janus's answer. SfuError if it refuses a kind."""
        pc = self._pc = new_peer_connection(self._webrtc)
        pc.on("connectionstatechange", self._on_connection_state)
        for kind in ("video", "audio"):
            self._add_sender(pc, kind)
        with gathering_on(self._webrtc.ice_host_addresses):
            await pc.setLocalDescription(await pc.createOffer())
        reply = await self.handle.send(
            videoroom.publish(self._webrtc.video_codec, self._webrtc.audio_codec), _jsep(pc))
        if reply.jsep is None or reply.jsep.get("type") != "answer":
            raise SfuError(f"janus publish: expected an SDP answer, got {reply.jsep!r:.120}")
        self._check_answer(reply.jsep["sdp"])
        answer = filter_offer_candidates(reply.jsep["sdp"], self._webrtc.ice_host_addresses)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    def _add_sender(self, pc: RTCPeerConnection, kind: str) -> None:
        track, output = add_shared_sender(pc, kind, "sendonly", self._webrtc,
                                          self._media.attach_sender)
        self._tracks.append(track)
        self._outputs.append(output)

    def _check_answer(self, sdp: str) -> None:
        """Janus rejects (port 0) a kind whose codec the room does not take."""
        for media in SessionDescription.parse(sdp).media:
            if media.port == 0 or media.direction == "inactive":
                codec = configured_codec(self._webrtc, media.kind)
                raise SfuError(f"janus room {self._config.room}: expected it to take our "
                               f"{media.kind} codec {codec}, got the {media.kind} rejected")

    def _on_connection_state(self) -> None:
        pc = self._pc
        if pc is None:
            return
        log.debug("janus publication: connection %s", pc.connectionState)
        if pc.connectionState == "connected":
            self.connected.set()
            log.info("janus: publishing into room %s as feed %s", self._config.room,
                     self.feed_id)
        elif pc.connectionState in ("failed", "closed"):
            self.failed.set()

    async def wait_connected(self, timeout_s: float) -> None:
        """Until our media flows to Janus: only then can anyone subscribe to our feed."""
        waits = [asyncio.ensure_future(self.connected.wait()),
                 asyncio.ensure_future(self.failed.wait())]
        try:
            await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        if not self.connected.is_set():
            raise SfuSessionLost("janus: our published connection "
                                 + ("failed" if self.failed.is_set()
                                    else f"did not connect in {timeout_s:g} s"))

    async def close(self) -> None:
        """Stop sending and close the connection (leaving the room is the handle's detach)."""
        for output in self._outputs:
            output.close()
        self._outputs.clear()
        for track in self._tracks:
            track.stop()
        self._tracks.clear()
        pc, self._pc = self._pc, None
        if pc is not None:
            await pc.close()


class Subscription:
    """One user's audio, through its own subscriber handle."""

    def __init__(self, session: JanusSession, feed: videoroom.Feed, config: JanusConfig,
                 webrtc: WebRTCConfig, media: PeerMedia) -> None:
        self.feed = feed
        self._session = session
        self._config = config
        self._webrtc = webrtc
        self._media = media
        self._handle: JanusHandle | None = None
        self._pc: RTCPeerConnection | None = None
        self._readers: list[RemoteAudioReader] = []

    async def start(self, private_id: int | None) -> None:
        """Join as subscriber to the feed's audio and answer Janus's offer."""
        handle = self._handle = await self._session.attach(videoroom.PLUGIN)
        reply = await handle.send(videoroom.join_subscriber(self._config, self.feed, private_id))
        if reply.jsep is None or reply.jsep.get("type") != "offer":
            raise SfuError(f"janus subscribe to {self.feed.id}: expected an SDP offer, "
                           f"got {reply.jsep!r:.120}")
        pc = self._pc = new_peer_connection(self._webrtc)
        pc.on("track", self._on_track)
        offer = filter_offer_candidates(reply.jsep["sdp"], self._webrtc.ice_host_addresses)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        with gathering_on(self._webrtc.ice_host_addresses):
            await pc.setLocalDescription(await pc.createAnswer())
        await handle.send(videoroom.START, _jsep(pc))
        log.info("janus: receiving the audio of %s (%r) as %s", self.feed.id,
                 self.feed.display, self.feed.user_id)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._readers.append(self._media.on_remote_audio(self.feed.user_id, track))

    async def close(self) -> None:
        """Stop reading, close the connection and detach the handle. Idempotent."""
        readers, self._readers = self._readers, []
        await asyncio.gather(*(r.stop() for r in readers))
        pc, self._pc = self._pc, None
        if pc is not None:
            await pc.close()
        handle, self._handle = self._handle, None
        if handle is not None:
            await handle.detach()
