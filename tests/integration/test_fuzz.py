"""Generated input into a live server while a viewer keeps watching: 10,000 unstructured
messages on one connection, then a few hundred structured cases (mutations of what a real
browser sent, over the WebSocket and WHEP), each answered as tests/fuzz_oracle.py says."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
import pytest

from tests.conftest import MakeSystem, wait_until, ws_url
from tests.feeds import feeding_frames
from tests.fuzz_oracle import run_signaling_case, run_whep_case, with_deadline
from tests.fuzzing import client_messages, draw_all, signaling_cases, whep_cases
from tests.integration.client import RtcClient, SignalingClient, note_frames
from tests.signals import quadrants

MESSAGES = 10_000


@pytest.fixture(scope="module")
def generated() -> list[str]:
    """Messages drawn by Hypothesis (its engine explores the strategy, shrinking aside)."""
    return draw_all(client_messages, MESSAGES, derandomize=True)


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
    while not fuzzer.messages.empty():  # what the flood was answered with
        fuzzer.messages.get_nowait()
    await fuzzer.send("{")  # the fuzzed connection still answers
    error = await fuzzer.expect("error", timeout=5)
    assert error["error"].startswith("malformed JSON")
    assert not fuzzer.closed.is_set()
    await fuzzer.close()
    await viewer.close()


SIGNALING_CASES = 500
WHEP_CASES = 150


@pytest.mark.timeout(300)
async def test_structured_cases_are_each_answered_as_owed_while_a_viewer_watches(
        make_system: MakeSystem) -> None:
    signaling = draw_all(signaling_cases, SIGNALING_CASES, derandomize=True)
    whep = draw_all(whep_cases, WHEP_CASES, derandomize=True)
    system = await make_system({"maxClients": 10, "messageRateLimit": 1e6,
                                "messageBurst": 10**9})
    viewer = RtcClient(ws_url(system))
    base = f"http://127.0.0.1:{system.server.port}"
    async with feeding_frames(system, quadrants()), aiohttp.ClientSession() as http:
        await viewer.connect()
        video = await viewer.track("video")
        await asyncio.wait_for(video.recv(), 10)
        arrivals: list[float] = []
        counting = asyncio.create_task(note_frames(video, arrivals))
        started = time.monotonic()
        verdicts = [await with_deadline(run_signaling_case(http, ws_url(system), case))
                    for case in signaling]
        verdicts += [await with_deadline(run_whep_case(http, base, case)) for case in whep]
        elapsed = time.monotonic() - started
        counting.cancel()
        await asyncio.gather(counting, return_exceptions=True)
        await wait_until(lambda: system.get_status()["peerCount"] == 1, 10)
    outcomes = Counter(o for v in verdicts for o in v.outcomes)
    fps = sum(started <= t for t in arrivals) / elapsed
    print(f"\n{len(verdicts)} cases in {elapsed:.1f} s: {dict(outcomes)}; "
          f"slowest reply {max(v.slowest_reply_s for v in verdicts):.2f} s; "
          f"viewer at {fps:.1f} fps")
    wrong = [v for v in verdicts if v.problems]
    assert not wrong, f"{len(wrong)} cases answered wrongly; the first:\n{wrong[0].describe()}"
    assert outcomes["answer"] > 0 and outcomes["error"] > 0 and outcomes["silence"] > 0, \
        "the cases reach every kind of reply"
    assert fps >= 25, f"expected the viewer to keep ~30 fps, got {fps:.1f}"
    await viewer.close()
