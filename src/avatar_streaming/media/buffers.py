"""Turning the API's buffer types into numpy arrays without surprises."""

from __future__ import annotations

import numpy as np

from ..types import Buffer


def as_uint8(data: Buffer, what: str) -> np.ndarray:
    """A flat uint8 view of bytes, bytearray, memoryview or a uint8 array."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise TypeError(f"{what}: expected a uint8 array, got dtype {data.dtype}")
        return np.ascontiguousarray(data).reshape(-1)
    if isinstance(data, bytes | bytearray | memoryview):
        return np.frombuffer(data, dtype=np.uint8)
    raise TypeError(
        f"{what}: expected bytes, bytearray, memoryview or numpy array, got {type(data).__name__}"
    )
