"""StreamingSystem: the signaling server and its rooms, each with its own bridge and media."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from .bridge import MediaBridge
from .config import DEFAULT_ROOM, StreamingSystemConfig, load_config
from .media.encoder import VideoEncoder
from .media.fanout import Broadcast
from .prometheus import SystemMetrics
from .rooms import Room, Rooms
from .sfu import JanusRelay
from .signaling.server import SignalingServer

log = logging.getLogger(__name__)



class StreamingSystem:
    """The whole system: ``bridge`` to push into and listen on, ``server`` for browsers.

    ``bridge`` is the default room's, the contract's one avatar; ``open_room`` opens
    more conversations, each with a bridge of its own (see rooms.py). In every room one
    video encoder and one audio encoder serve every peer; each peer only adds its own RTP
    headers, SRTP and sends (see media/fanout.py).
    """

    def __init__(self, config: StreamingSystemConfig) -> None:
        webrtc = config.webrtc
        self.config = config
        self.prometheus = SystemMetrics()
        self._rooms = Rooms(config, on_opened=self.prometheus.add_room,
                            on_closed=self.prometheus.remove_room)
        self.server = SignalingServer(webrtc, self._rooms, self.get_status)
        self._rooms.attach(self.server)
        self.prometheus.watch(lambda: self._rooms.open_rooms.values(),
                              self.server.registry.connected_count)
        self.server.metrics_text = self.prometheus.render
        self._default: Room | None = None
        self._stopped = False

    @property
    def default_room(self) -> Room:
        assert self._default is not None, "create_streaming_system() opens the default room"
        return self._default

    @property
    def bridge(self) -> MediaBridge:
        """The default room's bridge (the contract's ``system.bridge``)."""
        return self.default_room.bridge

    @property
    def rooms(self) -> Mapping[str, Room]:
        """The open rooms by name, the default room ("default") included."""
        return self._rooms.open_rooms

    async def open_room(self, name: str) -> Room:
        """The room ``name``, opened now if it is not open (it stays until closed);
        ``ValueError`` for a bad name, ``RoomLimitError`` beyond ``webrtc.rooms.maxRooms``.
        The room's bridge is started as the default one is (``start()``)."""
        return await self._rooms.open(name)

    # the default room's media, as before rooms
    @property
    def video_encoder(self) -> VideoEncoder:
        return self.default_room.video_encoder

    @property
    def video_stream(self) -> Broadcast:
        return self.default_room.video_stream

    @property
    def audio_stream(self) -> Broadcast:
        return self.default_room.audio_stream

    @property
    def sfu(self) -> JanusRelay | None:
        """The default room's relay into Janus, when ``webrtc.sfu`` is set."""
        return self.default_room.sfu

    @property
    def incoming_audio_chunks(self) -> int:
        return sum(room.incoming_audio_chunks for room in self.rooms.values())

    async def listen(self) -> None:
        """Open the default room (its media clocks and SFU relay, if any), then start the
        signaling server (done by create_streaming_system). A relay connects in the
        background."""
        self._default = await self._rooms.open(DEFAULT_ROOM)
        await self.server.start()

    async def start(self) -> None:
        """Start the media bridges: pushes are accepted (rooms opened later start too)."""
        await self._rooms.start_bridges()

    async def stop(self) -> None:
        """Every bridge stops, then the server: every peer is disconnected ("server-stop"),
        every room closed ("room-closed", reason "server-stop"), SFU rooms left.
        Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        await self._rooms.stop_bridges()
        await self.server.stop()
        await self._rooms.close_all("server-stop")

    def get_status(self) -> dict[str, Any]:
        """The contract's shape: ``peerCount`` (every room) and the default room's
        ``metrics``; ``rooms`` has each room's own (``room.get_status()``)."""
        status = {"peerCount": self.server.peer_count, "metrics": self.bridge.get_metrics(),
                  "rooms": {name: room.get_status() for name, room in self.rooms.items()}}
        if self.sfu is not None:
            status["sfu"] = self.sfu.status()
        return status

    async def __aenter__(self) -> StreamingSystem:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()


async def create_streaming_system(
    config: StreamingSystemConfig | Mapping[str, Any] | None = None,
) -> StreamingSystem:
    """Build the system and start its signaling server; returns once it listens."""
    system = StreamingSystem(load_config(config))
    await system.listen()
    return system
