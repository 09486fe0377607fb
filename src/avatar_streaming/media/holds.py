"""Frames pushed ahead of their audio, held until the audio of their capture time leaves.

``FrameHolds`` keeps them in order and releases each when it is due, on a ``Timer``: the
media clock's wall time and a way to be called back later. The system's is the event
loop's (``LoopTimer``); tests give one they move themselves.

``HeldPixels`` is the policy for their pixels: a held frame's pixels wait in the bridge's
ring of slots (pixels.py) to be converted by the encoder's thread, unless so many newer
frames are pushed that the ring would reuse its slot first; then the push converts it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol

from .pixels import RING_SLOTS
from .video import Picture

MAX_HELD_FRAMES = 150
"""At most this many frames wait (5 s at 30 fps; 58 MiB of yuv420p at 512x512)."""
HALF_FRAME_MS = 1000 / 60
"""A frame due within this of a release goes with it."""


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Timer(Protocol):
    """What the holds need of time: the media clock's now, and a call back."""

    def now_ms(self) -> float: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Cancellable: ...


class LoopTimer:
    """``wall_clock`` (Unix ms, the media clock's) and the running event loop's timers."""

    def __init__(self, wall_clock: Callable[[], float]) -> None:
        self._wall_clock = wall_clock

    def now_ms(self) -> float:
        return self._wall_clock()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Cancellable:
        return asyncio.get_running_loop().call_later(delay_s, callback)


class FrameHolds:
    """Holds frames until they are due, then gives the latest due one to ``release``."""

    def __init__(self, release: Callable[[Picture], None], timer: Timer,
                 left: Callable[[Picture], None] = lambda picture: None) -> None:
        self._release = release
        self._left = left
        """Told of every frame that leaves, in order: released, or passed over for a later
        one due with it (not the dropped)."""
        self._timer = timer
        self._held: deque[tuple[float, Picture]] = deque()
        self._wake: Cancellable | None = None

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, due_ms: float, picture: Picture) -> None:
        """Keep ``picture`` until ``due_ms`` (after every frame held before it); past
        MAX_HELD_FRAMES, the oldest goes at once."""
        self._held.append((due_ms, picture))
        if len(self._held) > MAX_HELD_FRAMES:
            self._release(self._leave())
        if self._wake is None:
            self._arm(due_ms - self._timer.now_ms())

    def drop(self) -> list[Picture]:
        """Forget every held frame (barge-in); they are never released."""
        dropped = [picture for _, picture in self._held]
        self._held.clear()
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        return dropped

    def _leave(self) -> Picture:
        picture = self._held.popleft()[1]
        self._left(picture)
        return picture

    def _arm(self, delay_ms: float) -> None:
        self._wake = self._timer.call_later(max(0.0, delay_ms) / 1000, self._on_time)

    def _on_time(self) -> None:
        """Release the frames now due (only the latest of them is shown: the others would
        be replaced before the encoder took them), and wait for the next."""
        self._wake = None
        now = self._timer.now_ms()
        due = None
        while self._held and self._held[0][0] <= now + HALF_FRAME_MS:
            due = self._leave()
        if due is not None:
            self._release(due)
        if self._held:
            self._arm(self._held[0][0] - now)


class HeldPixels:
    """Converts a held frame in the push ``convert_after`` pushes after its own, before the
    ring of ``ring_slots`` reuses its slot; a frame released sooner is left to the encoder's
    thread (the audio lead holds each frame briefly: its conversion stays off the loop)."""

    def __init__(self, ring_slots: int = RING_SLOTS) -> None:
        if ring_slots < 3:
            raise ValueError(f"held pixels: expected a ring of at least 3 slots, got "
                             f"{ring_slots}")
        self.convert_after = ring_slots - 2
        """The slot is reused ``ring_slots`` pushes later; two spare: the push that reuses
        it and the one the encoder may be converting meanwhile."""
        self._pushes = 0
        self._unconverted: deque[tuple[int, Picture]] = deque()

    def pushed(self) -> None:
        """A push came: convert the held frames it would otherwise put at risk."""
        self._pushes += 1
        while self._unconverted and \
                self._pushes - self._unconverted[0][0] >= self.convert_after:
            self._unconverted.popleft()[1].yuv()

    def held(self, picture: Picture) -> None:
        """``picture``, of the latest push, is held: watch its slot (if it has one)."""
        if not picture.stable:
            self._unconverted.append((self._pushes, picture))

    def left(self, picture: Picture) -> None:
        """``picture`` is no longer held (frames leave in the order they were held): the
        encoder converts it, or nobody does."""
        if self._unconverted and self._unconverted[0][1] is picture:
            self._unconverted.popleft()

    def forget(self) -> None:
        self._unconverted.clear()
