"""Rooms: one conversation each, with media of its own, on one server.

A ``Room`` is what the whole system was before rooms: a bridge to push into and
listen on, one encode-once fan-out per stream, an audio playout with its lip-sync
state and barge-in, its own metrics and, in SFU mode, its own Janus VideoRoom. A
room that nobody watches encodes nothing (the encoder skips frames without
viewers; its first viewer gets a keyframe at once).

``Rooms`` opens and closes them and is what the signaling server asks when a client
names one (``RoomDirectory``). The default room is opened with the system and
closes with it; other rooms are opened by ``open`` (they stay until closed) or, with
``webrtc.rooms.onDemand``, by the first client that names them (they close
``idleCloseS`` after their last peer left). "room-opened" is emitted on the server,
and its listeners awaited, before that first client gets its ``config``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from aiortc import RTCRtpSender
from aiortc.mediastreams import MediaStreamTrack

from .bridge import MediaBridge
from .codecs import CODECS, VIDEO_CLOCK_RATE
from .config import DEFAULT_ROOM, StreamingSystemConfig, check_room_name
from .errors import RoomError, RoomLimitError
from .media.audio import TRACK_RATE, AudioQueue
from .media.encoder import AudioEncoder, VideoEncoder
from .media.fanout import Broadcast
from .media.incoming import IncomingAudio
from .media.sources import AudioPlayout, VideoSource
from .media.sync import AvSync
from .rtc.connection import PeerMedia
from .rtc.peer import Peer
from .rtc.rtp_out import RtpOut
from .sfu import JanusRelay
from .signaling import protocol
from .types import AudioChunk, Caption, FrameSentEvent, RoomClosedEvent

if TYPE_CHECKING:
    from .signaling.server import SignalingServer

log = logging.getLogger(__name__)


class Room:
    """One conversation: ``bridge`` for its avatar, ``peers`` for its users."""

    def __init__(self, name: str, config: StreamingSystemConfig, rooms: Rooms, *,
                 on_demand: bool = False) -> None:
        webrtc, media = config.webrtc, config.media
        self.name = name
        self.on_demand = on_demand
        """Opened by a client naming it: closes when idle."""
        self.config = config
        self._rooms = rooms
        self.sync = AvSync(audio_lead_ms=media.audio_lead_ms)
        self.video = VideoSource(media.video_width, media.video_height, self.sync)
        self.video_stream = Broadcast("video", VIDEO_CLOCK_RATE)
        self.video_encoder = VideoEncoder(webrtc.video_codec, self.video.mailbox, self.video_stream,
                                          fps=media.video_fps,
                                          bitrate_bps=media.video_bitrate_bps, sync=self.sync)
        self.audio_stream = Broadcast("audio", CODECS[webrtc.audio_codec].clock_rate, history=128)
        self.audio_encoder = AudioEncoder(webrtc.audio_codec, self.audio_stream,
                                          media.audio_bitrate_bps)
        self.playout = AudioPlayout(AudioQueue(int(media.audio_queue_s * TRACK_RATE)),
                                    self.audio_encoder.encode, self._playback_event,
                                    sync=self.sync)
        self.bridge = MediaBridge(media, self.video, self.playout, observers=rooms.server,
                                  captions=self._send_caption)
        """The whole contract API, for this room only."""
        self.incoming_audio_chunks = 0
        self.sfu: JanusRelay | None = None
        """This room's relay into its own Janus VideoRoom, when ``webrtc.sfu`` is set."""
        if webrtc.sfu is not None:
            sfu = webrtc.sfu
            self.sfu = JanusRelay(replace(sfu, room=sfu.room_for(name)), webrtc,
                                  self.peer_media())
        self.frame_sent_observer: Callable[[FrameSentEvent], None] | None = None
        """Also given every frame sent (the /metrics histogram)."""
        self.video_encoder.on_sent = self._frame_sent
        self.ready = asyncio.Event()
        """Set once the "room-opened" listeners are done: peers may join."""

    def _frame_sent(self, event: FrameSentEvent) -> None:
        if self.config.webrtc.debug:
            log.debug("room %s: sent frame rtp=%d %s%s %d packets %d bytes to %d viewers, "
                      "%.1f ms after its push", self.name, event.rtp_timestamp,
                      "keyframe" if event.keyframe else "delta",
                      " (repeat)" if event.repeat else "", event.packets, event.payload_bytes,
                      self.video_stream.viewer_count,
                      event.sent_at - (event.pushed_at or event.encode_started_at))
        if self.frame_sent_observer is not None:
            self.frame_sent_observer(event)
        if self.bridge.listeners("frame-sent"):
            self.bridge.emit("frame-sent", event)

    @property
    def peers(self) -> list[Peer]:
        """This room's peers, connected or still negotiating."""
        return self._rooms.server.registry.peers(self.name)

    @property
    def peer_count(self) -> int:
        """This room's peers whose media is up."""
        return self._rooms.server.registry.connected_count(self.name)

    @property
    def open(self) -> bool:
        return self._rooms.get(self.name) is self

    def get_status(self) -> dict[str, Any]:
        """The contract's status shape, for this room."""
        status: dict[str, Any] = {"peerCount": self.peer_count,
                                  "metrics": self.bridge.get_metrics()}
        if self.sfu is not None:
            status["sfu"] = self.sfu.status()
        return status

    async def close(self) -> None:
        """Disconnect this room's peers (reason "room-closed") and stop its media; emits
        "room-closed" (reason "closed"). The default room closes only with the system."""
        if self.name == DEFAULT_ROOM:
            raise RoomLimitError("the default room closes with the system: expected "
                                 "system.stop(), got room.close()")
        await self._rooms.close(self, "closed")

    def start(self) -> None:
        self.video_encoder.start()
        self.playout.start()
        if self.sfu is not None:
            self.sfu.start()

    async def stop(self) -> None:
        """Stop the media (its peers are gone by now)."""
        await self.bridge.stop()
        if self.sfu is not None:
            await self.sfu.stop()
        await self.playout.stop()
        await self.video_encoder.stop()

    def peer_media(self) -> PeerMedia:
        return PeerMedia(attach_sender=self._attach_sender, on_remote_audio=self._read_audio)

    def _attach_sender(self, kind: str, sender: RTCRtpSender) -> RtpOut:
        if kind == "video":
            return RtpOut(sender, self.video_stream, self.video_encoder.request_keyframe)
        return RtpOut(sender, self.audio_stream)

    def _read_audio(self, user_id: str, track: MediaStreamTrack) -> IncomingAudio:
        """A user's microphone, from a browser peer or through the SFU, to "incoming-audio"."""
        media = self.config.media
        return IncomingAudio(
            track, user_id, sample_rate=media.audio_sample_rate, channels=media.audio_channels,
            chunk_ms=media.incoming_audio_chunk_ms, emit=self._emit_incoming, room=self.name)

    def _emit_incoming(self, chunk: AudioChunk) -> None:
        self.incoming_audio_chunks += 1
        self._rooms.server.emit("incoming-audio", chunk)
        self.bridge.handle_incoming_audio(chunk)

    async def _send_caption(self, caption: Caption) -> int:
        return await self._rooms.server.registry.broadcast(self.name,
                                                           protocol.CaptionLine(caption))

    def _playback_event(self, name: str, payload: object) -> None:
        log.debug("room %s: %s: %s", self.name, name, payload)
        self.bridge.emit(name, payload)


class Rooms:
    """The open rooms, by name; what the signaling server asks when a client names one."""

    def __init__(self, config: StreamingSystemConfig,
                 on_opened: Callable[[Room], None] = lambda room: None,
                 on_closed: Callable[[Room], None] = lambda room: None) -> None:
        self.config = config
        self._settings = config.webrtc.rooms
        self._rooms: dict[str, Room] = {}
        self._idle: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._on_opened = on_opened
        self._on_closed = on_closed
        self._server: SignalingServer | None = None
        self.streaming = False
        """Whether the bridges accept pushes (``system.start()``): rooms opened meanwhile
        start theirs before "room-opened"."""

    async def start_bridges(self) -> None:
        self.streaming = True
        for room in list(self._rooms.values()):
            await room.bridge.start()

    async def stop_bridges(self) -> None:
        self.streaming = False
        for room in list(self._rooms.values()):
            await room.bridge.stop()

    def attach(self, server: SignalingServer) -> None:
        """The server whose registry holds the peers and whose events name the rooms."""
        self._server = server

    @property
    def server(self) -> SignalingServer:
        assert self._server is not None, "Rooms.attach(server) first"
        return self._server

    @property
    def open_rooms(self) -> Mapping[str, Room]:
        return MappingProxyType(self._rooms)

    def get(self, name: str) -> Room | None:
        return self._rooms.get(name)

    async def open(self, name: str, *, on_demand: bool = False) -> Room:
        """The open room ``name``, opened now if need be (RoomLimitError beyond maxRooms)."""
        room = self._rooms.get(name)
        if room is None:
            check_room_name(name)
            if len(self._rooms) >= self._settings.max_rooms:
                raise RoomLimitError(f"too many rooms: expected at most "
                                     f"{self._settings.max_rooms} open at once "
                                     f"(webrtc.rooms.maxRooms), got one more ({name!r})")
            room = self._rooms[name] = Room(name, self.config, self, on_demand=on_demand)
            room.start()
            if self.streaming:
                await room.bridge.start()
            self._on_opened(room)
            if on_demand:
                self._arm_idle(room)
            log.info("room %s: opened%s", name, " on demand" if on_demand else "")
            await self.server.emit_and_wait("room-opened", room)
            room.ready.set()
        await room.ready.wait()
        return room

    async def join(self, name: str) -> PeerMedia:
        """What a new peer of ``name`` sends and where its microphone goes (RoomError when
        the room is not open and may not be opened, or one room would be too many)."""
        room = self._rooms.get(name)
        if room is None and not self._settings.on_demand:
            raise RoomError(f"room {name!r}: expected the name of an open room, got one that "
                            f"is not open (rooms are not opened on demand here)", 404)
        try:
            room = await self.open(name, on_demand=True)
        except RoomLimitError as exc:
            raise RoomError(str(exc), 503) from None
        if not room.open:  # closed while its "room-opened" listeners ran
            raise RoomError(f"room {name!r}: closed while joining", 404)
        self._disarm_idle(name)
        return room.peer_media()

    def room_emptied(self, name: str) -> None:
        room = self._rooms.get(name)
        if room is not None and room.on_demand:
            self._arm_idle(room)

    def _arm_idle(self, room: Room) -> None:
        self._disarm_idle(room.name)
        self._idle[room.name] = asyncio.get_running_loop().call_later(
            self._settings.idle_close_s, self._idle_out, room)

    def _disarm_idle(self, name: str) -> None:
        timer = self._idle.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _idle_out(self, room: Room) -> None:
        self._idle.pop(room.name, None)
        if room.peers:  # someone joined as the timer fired
            return
        task = asyncio.get_running_loop().create_task(self.close(room, "idle"),
                                                      name=f"room-idle-{room.name}")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self, room: Room, reason: str) -> None:
        """Close ``room``: its peers are disconnected, its media stopped; emits
        "room-closed" with ``reason``. Idempotent."""
        if self._rooms.get(room.name) is not room:
            return
        del self._rooms[room.name]
        self._disarm_idle(room.name)
        peer_reason = "server-stop" if reason == "server-stop" else "room-closed"
        await self.server.registry.end_all(peer_reason, room.name)
        await room.stop()
        self._on_closed(room)
        log.info("room %s: closed (%s)", room.name, reason)
        self.server.emit("room-closed", RoomClosedEvent(room.name, reason))

    async def close_all(self, reason: str) -> None:
        await asyncio.gather(*(self.close(r, reason) for r in list(self._rooms.values())))
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
