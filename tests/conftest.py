from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from avatar_streaming import StreamingSystem, create_streaming_system

LOOPBACK_WEBRTC = {"signalingPort": 0, "signalingHost": "127.0.0.1", "iceServers": [],
                   "iceHostAddresses": ["127.0.0.1"]}

MakeSystem = Callable[..., Coroutine[Any, Any, StreamingSystem]]


@pytest.fixture
async def make_system() -> AsyncIterator[MakeSystem]:
    """Start real systems on free loopback ports; every one is stopped afterwards."""
    systems: list[StreamingSystem] = []

    async def make(webrtc: dict[str, Any] | None = None, media: dict[str, Any] | None = None,
                   start: bool = True) -> StreamingSystem:
        system = await create_streaming_system(
            {"webrtc": {**LOOPBACK_WEBRTC, **(webrtc or {})}, "media": media or {}})
        systems.append(system)
        if start:
            await system.start()
        return system

    yield make
    for system in systems:
        await system.stop()


def ws_url(system: StreamingSystem) -> str:
    return f"ws://127.0.0.1:{system.server.port}/"


def page_url(system: StreamingSystem) -> str:
    return f"http://127.0.0.1:{system.server.port}/"


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)
