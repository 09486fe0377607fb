"""10,000 generated messages into a live server while a viewer keeps watching."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import MakeSystem, ws_url
from tests.feeds import feeding_frames
from tests.fuzzing import client_messages
from tests.integration.client import RtcClient, SignalingClient
from tests.signals import quadrants

MESSAGES = 10_000


@pytest.fixture(scope="module")
def generated() -> list[str]:
    """Messages drawn by Hypothesis (its engine explores the strategy, shrinking aside)."""
    out: list[str] = []

    @settings(max_examples=MESSAGES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(client_messages)
    def collect(text: str) -> None:
        out.append(text)

    collect()
    return out


@pytest.mark.timeout(180)
async def test_generated_messages_get_errors_and_disturb_no_one(
        make_system: MakeSystem, generated: list[str]) -> None:
    system = await make_system({"maxClients": 5, "messageRateLimit": 1e6, "messageBurst": 10**9})
    viewer = RtcClient(ws_url(system))
    fuzzer = SignalingClient(ws_url(system))
    async with feeding_frames(system, quadrants()):
        await viewer.connect()
        video = await viewer.track("video")
        await asyncio.wait_for(video.recv(), 10)
        await fuzzer.open()
        await fuzzer.expect("config")

        async def fuzz() -> None:
            for i, text in enumerate(generated):
                await fuzzer.send(text)
                if i % 200 == 0:
                    await asyncio.sleep(0)  # a fast client, not a blocking one

        frames, started = 0, time.monotonic()
        sending = asyncio.create_task(fuzz())
        while not sending.done() or time.monotonic() - started < 2:
            await asyncio.wait_for(video.recv(), 5)
            frames += 1
        fps = frames / (time.monotonic() - started)
        await sending
    print(f"\n{len(generated)} messages sent, {len(fuzzer.errors)} error replies, "
          f"viewer at {fps:.1f} fps meanwhile")
    assert len(generated) >= MESSAGES
    assert fps >= 25, f"expected the viewer to keep ~30 fps, got {fps:.1f}"
    assert len(fuzzer.errors) > MESSAGES // 2, "most generated messages are errors"
    await fuzzer.send("{")  # the fuzzed connection still answers
    await asyncio.sleep(0.5)
    assert fuzzer.errors[-1].startswith("malformed JSON")
    assert not fuzzer.closed.is_set()
    await fuzzer.close()
    await viewer.close()
