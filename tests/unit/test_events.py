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


async def test_a_failing_async_handler_is_logged_and_an_error_listener_gets_it(
        caplog: pytest.LogCaptureFixture) -> None:
    ee = EventEmitter()

    async def broken() -> None:
        raise ValueError("late failure")

    ee.on("e", broken)
    with caplog.at_level(logging.ERROR):
        ee.emit("e")
        await ee.wait_for_complete()
    assert "late failure" in caplog.text
    errors: list[BaseException] = []
    ee.on("error", errors.append)
    ee.emit("e")
    await ee.wait_for_complete()
    assert [str(e) for e in errors] == ["late failure"]


def test_an_error_emitted_with_no_listener_is_logged_not_raised(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert EventEmitter().emit("error", RuntimeError("nobody listens")) is False
    assert "nobody listens" in caplog.text
