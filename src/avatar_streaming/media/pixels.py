"""Reusable buffers for pushed pixels.

Copying a 1 MiB frame into freshly allocated memory costs several times the
copy itself (the kernel maps and zeroes new pages on first touch); copying into
a buffer already mapped costs only the copy. A push copies into the next of a
few slots; the encoder's thread later reads the slot under its lock. A reader
that finds its slot overwritten (it fell a whole ring behind) gets None.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import numpy as np

T = TypeVar("T")


class _Slot:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.array: np.ndarray | None = None
        self.generation = 0


class Stored:
    """Pixels copied into a slot; readable until the slot is reused."""

    def __init__(self, slot: _Slot, generation: int) -> None:
        self._slot = slot
        self._generation = generation

    def read(self, use: Callable[[np.ndarray], T]) -> T | None:
        """``use(pixels)`` under the slot's lock, or None if the slot holds newer pixels."""
        with self._slot.lock:
            if self._slot.generation != self._generation or self._slot.array is None:
                return None
            return use(self._slot.array)


RING_SLOTS = 4
"""Slots of the bridge's ring: a push reuses the slot of the push this many before it
(holds.py converts held frames before then)."""


class PixelRing:
    def __init__(self, slots: int = RING_SLOTS) -> None:
        self._slots = [_Slot() for _ in range(slots)]
        self._next = 0

    def store(self, pixels: np.ndarray) -> Stored:
        """Copy ``pixels`` into the next slot."""
        slot = self._slots[self._next]
        self._next = (self._next + 1) % len(self._slots)
        with slot.lock:
            if slot.array is None or slot.array.shape != pixels.shape:
                slot.array = np.empty_like(pixels)
            np.copyto(slot.array, pixels)
            slot.generation += 1
            return Stored(slot, slot.generation)
