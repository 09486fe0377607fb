"""The encoder's mailbox: the pictures shown, in order, and a wake-up when one comes."""

from __future__ import annotations

import asyncio
from collections import deque

from .video import Picture

MAILBOX_FRAMES = 2
"""Frames the encoder may still take in order: one push that comes while it encodes the
one before is encoded next, not skipped (a one-frame flash, a mouth shape); further behind,
it skips to the newer ones."""


class FrameMailbox:
    """Written by whoever shows a picture, read by the encoder. Every picture shown gets a
    number; the encoder asks for the oldest it has not seen of the last MAILBOX_FRAMES, or
    waits for one."""

    def __init__(self, first: Picture) -> None:
        self._latest = first
        self._seq = 0
        self._recent: deque[tuple[int, Picture]] = deque(maxlen=MAILBOX_FRAMES)
        self._next: asyncio.Future[None] | None = None

    def show(self, picture: Picture) -> None:
        """Make ``picture`` the latest; wake whoever waits for a new one."""
        self._latest = picture
        self._seq += 1
        self._recent.append((self._seq, picture))
        self.poke()

    def poke(self) -> None:
        """Wake whoever waits for a newer frame now, with none (to encode the latest again)."""
        if self._next is not None and not self._next.done():
            self._next.set_result(None)
        self._next = None

    @property
    def latest(self) -> tuple[int, Picture]:
        return self._seq, self._latest

    def next_after(self, seen: int) -> tuple[int, Picture, bool]:
        """The oldest of the last MAILBOX_FRAMES frames shown after number ``seen`` (and
        True: a new one); or the latest again (False) when none is."""
        for seq, picture in self._recent:
            if seq > seen:
                return seq, picture, True
        return self._seq, self._latest, self._seq != seen

    async def wait_newer(self, seq: int, timeout_s: float) -> None:
        """Return when a frame newer than ``seq`` exists, or after ``timeout_s``."""
        if self._seq != seq or timeout_s <= 0:
            return
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._next), timeout_s)
        except TimeoutError:
            pass
