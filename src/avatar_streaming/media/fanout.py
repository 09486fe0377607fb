"""Encoded media out to every viewer: packetized once, a small shared history for NACKs.

A ``Broadcast`` is one outgoing stream (video or audio). It numbers each
payload once; every viewer (an ``RtpOut`` per peer) writes only its own RTP
header, protects the packet with its own SRTP session and sends it on its own
socket, without awaiting: a slow viewer delays nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Payload:
    """One RTP payload of the shared stream."""

    index: int
    """Position in the stream; each viewer maps it onto its own sequence numbers."""
    data: bytes
    marker: bool
    timestamp: int
    """In the codec's clock units, from the stream's epoch."""


class Viewer(Protocol):
    def send_frame(self, payloads: list[Payload], send_time_ntp: int, media_ntp: int) -> None:
        ...


class Broadcast:
    """One outgoing stream, shared by every viewer."""

    def __init__(self, kind: str, clock_rate: int, history: int = 512) -> None:
        self.kind = kind
        self.clock_rate = clock_rate
        self._history: list[Payload | None] = [None] * history
        self._next_index = 0
        self._viewers: set[Viewer] = set()
        self.on_join: Callable[[], None] | None = None
        """Called when a viewer joins (video: ask the encoder for a keyframe)."""
        # totals over every viewer there ever was, for /metrics
        self.packets_sent = 0
        self.bytes_sent = 0
        self.nacks_received = 0
        self.plis_received = 0
        self.firs_received = 0

    @property
    def keyframe_requests_received(self) -> int:
        """PLIs and FIRs together."""
        return self.plis_received + self.firs_received

    def note_keyframe_request(self, kind: str) -> None:
        """A viewer's PLI (``kind`` "pli") or FIR ("fir")."""
        if kind == "pli":
            self.plis_received += 1
        else:
            self.firs_received += 1

    @property
    def next_index(self) -> int:
        return self._next_index

    @property
    def viewer_count(self) -> int:
        return len(self._viewers)

    def join(self, viewer: Viewer) -> None:
        self._viewers.add(viewer)
        if self.on_join is not None:
            self.on_join()

    def leave(self, viewer: Viewer) -> None:
        self._viewers.discard(viewer)

    def send(self, payloads: list[bytes], timestamp: int, send_time_ntp: int,
             media_ntp: int | None = None) -> None:
        """Number one encoded frame's payloads and hand them to every viewer.

        ``media_ntp`` is the wall-clock time the frame's RTP ``timestamp`` stands for (what
        the sender reports map it to); by default, the time it is sent.
        """
        last = len(payloads) - 1
        frame = []
        for i, data in enumerate(payloads):
            payload = Payload(self._next_index, data, self.kind == "video" and i == last,
                              timestamp)
            self._history[self._next_index % len(self._history)] = payload
            self._next_index += 1
            frame.append(payload)
        for viewer in list(self._viewers):
            try:
                viewer.send_frame(frame, send_time_ntp,
                                  send_time_ntp if media_ntp is None else media_ntp)
            except Exception:  # one broken viewer must not stop the others
                log.exception("%s viewer failed; it gets no more of this stream", self.kind)
                self._viewers.discard(viewer)

    def lookup(self, index: int) -> Payload | None:
        """A payload still in the history, for a retransmission."""
        payload = self._history[index % len(self._history)]
        return payload if payload is not None and payload.index == index else None
