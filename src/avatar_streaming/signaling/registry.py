"""Every client of the server in one place: WebSocket sessions and WHEP resources alike.

The registry counts them against ``maxClients``, knows which are connected (their
media is up) and in which room, ends them, and emits "peer-connected" and
"peer-disconnected". It tells the rooms when one has nobody left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from ..rtc.connection import PeerMedia
from ..rtc.peer import Peer
from ..types import PeerDisconnectedEvent
from . import protocol

log = logging.getLogger(__name__)


class RoomDirectory(Protocol):
    """The rooms, as the server sees them."""

    async def join(self, name: str) -> PeerMedia:
        """What a new peer of room ``name`` sends and where its microphone goes; the room is
        opened first if it may be opened on demand. RoomError when it may not be joined."""

    def room_emptied(self, name: str) -> None:
        """Room ``name`` has no peers left."""


class Connection(Protocol):
    """One client: a Peer and whatever carries its signaling (a WebSocket, or WHEP)."""

    peer: Peer
    close_reason: str | None

    async def close(self, reason: str) -> None:
        """Close the peer and its signaling; the first reason given is the one reported."""

    async def send(self, message: protocol.ServerMessage) -> None:
        """Send a message on its signaling, where it has a channel for them."""


class PeerRegistry:
    def __init__(self, max_clients: int, emit: Callable[..., object],
                 room_emptied: Callable[[str], None] = lambda room: None) -> None:
        self.max_clients = max_clients
        self._emit = emit
        self._room_emptied = room_emptied
        self._connections: dict[str, Connection] = {}
        self._connected: set[str] = set()

    @property
    def full(self) -> bool:
        return len(self._connections) >= self.max_clients

    def get(self, peer_id: str) -> Connection | None:
        return self._connections.get(peer_id)

    def peers(self, room: str | None = None) -> list[Peer]:
        """Every peer (of ``room``, if given), connected or still negotiating."""
        return [c.peer for c in self._connections.values() if room in (None, c.peer.room)]

    def connected_count(self, room: str | None = None) -> int:
        """Peers whose WebRTC connection is up (in ``room``, if given)."""
        if room is None:
            return len(self._connected)
        return sum(1 for peer_id in self._connected
                   if self._connections[peer_id].peer.room == room)

    def add(self, connection: Connection) -> None:
        """Count a new client; emit "peer-connected" once its media is up, and end it
        ("ice-failed") when ICE or DTLS fails, ("closed") when the client hangs up its peer
        connection."""
        peer = connection.peer
        self._connections[peer.id] = connection
        peer.on("connected", lambda: self._on_connected(peer))
        peer.on("failed", lambda: self.end(connection, "ice-failed"))
        peer.on("lost", lambda: self.end(connection, "closed"))

    async def end(self, connection: Connection, reason: str) -> None:
        """Close a client and forget it (idempotent)."""
        await connection.close(reason)
        peer = connection.peer
        if self._connections.get(peer.id) is not connection:
            return
        del self._connections[peer.id]
        reason = connection.close_reason or reason
        log.info("peer %s: closed (%s)", peer.id, reason)
        if peer.id in self._connected:
            self._connected.discard(peer.id)
            self._emit("peer-disconnected", PeerDisconnectedEvent(peer.id, reason, peer.room))
        if not any(c.peer.room == peer.room for c in self._connections.values()):
            self._room_emptied(peer.room)

    async def end_all(self, reason: str, room: str | None = None) -> None:
        """End every client (of ``room``, if given)."""
        await asyncio.gather(*(self.end(c, reason) for c in list(self._connections.values())
                               if room in (None, c.peer.room)))

    async def broadcast(self, room: str, message: protocol.ServerMessage) -> int:
        """Send ``message`` to every client of ``room``; how many there were."""
        connections = [c for c in self._connections.values() if c.peer.room == room]
        await asyncio.gather(*(c.send(message) for c in connections))
        return len(connections)

    def _on_connected(self, peer: Peer) -> None:
        if peer.id in self._connections:
            self._connected.add(peer.id)
            log.info("peer %s: connected", peer.id)
            self._emit("peer-connected", peer)
