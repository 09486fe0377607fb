from __future__ import annotations

import asyncio
import logging

import pytest

from avatar_streaming.events import EventEmitter


async def test_on_once_off_and_async_handlers() -> None:
    ee = EventEmitter()
    got: list[tuple[str, int]] = []

    def sync_handler(x: int) -> None:
        got.append(("sync", x))

    async def async_handler(x: int) -> None:
        await asyncio.sleep(0)
        got.append(("async", x))

    ee.on("e", sync_handler)
    ee.on("e", async_handler)
    ee.once("e", lambda x: got.append(("once", x)))
    ee.emit("e", 1)
    await ee.wait_for_complete()
    ee.off("e", sync_handler)
    ee.remove_listener("e", async_handler)
    ee.emit("e", 2)
    await ee.wait_for_complete()
    assert sorted(got) == [("async", 1), ("once", 1), ("sync", 1)]


async def test_a_failing_handler_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    ee = EventEmitter()
    after: list[int] = []

    def broken(_x: int) -> None:
        raise RuntimeError("recognizer crashed")

    ee.on("e", broken)
    ee.on("e", after.append)
    with caplog.at_level(logging.ERROR):
        ee.emit("e", 7)  # does not raise
    assert after == [7]
    assert "recognizer crashed" in caplog.text
