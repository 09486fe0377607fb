"""Speech as a listener hears it: paced in real time however fast it was pushed, and silenced
at once by a barge-in."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
from playwright.async_api import Page

from avatar_streaming import AudioChunk, PlaybackInterruptedEvent, StreamingSystem
from tests.browser.conftest import LaunchBrowser, open_page, record_figures, wait_state
from tests.browser.probes import AUDIO_LEVELS, AUDIO_STATS
from tests.conftest import MakeSystem, page_url
from tests.signals import tone

LOUD = 0.05
"""RMS above which the page is hearing the tone (it plays at 0.5 of full scale)."""


def loud_span(levels: list[list[float]]) -> tuple[float, float]:
    """Unix ms of the first and the last loud reading."""
    loud = [t for t, rms in levels if rms > LOUD]
    assert loud, "expected to hear the tone"
    return loud[0], loud[-1]


async def push_speech(system: object, seconds: float, rate: int = 24000) -> float:
    """Push ``seconds`` of tone in 100 ms chunks as fast as possible; return the time taken."""
    samples = tone(440.0, seconds, rate)
    step = rate // 10
    started = time.monotonic()
    for i in range(0, len(samples), step):
        await system.bridge.push_audio_chunk(  # type: ignore[attr-defined]
            AudioChunk(samples[i:i + step].tobytes(), rate, 1, time.time() * 1000))
    return time.monotonic() - started


SETTLED_BUFFER_MS = 80.0
"""Chromium's audio jitter buffer is settled when, over half a second, it held no more than
this on average and neither sped up nor slowed down its playout to get there."""


async def settle(page: Page, timeout_s: float = 10.0) -> dict[str, float]:
    """Wait for the page's audio jitter buffer to settle; how long that took, and its delay.

    A buffer that grew while the machine was busy (a test before this one, the page's own
    start) is drained by playing faster: speech pushed meanwhile plays short, and what it
    holds is heard after an interrupt. A fixed wait cannot know when that is over."""
    started = time.monotonic()
    previous = await page.evaluate(AUDIO_STATS)
    while True:
        await asyncio.sleep(0.5)
        now = await page.evaluate(AUDIO_STATS)
        emitted = now["emitted"] - previous["emitted"]
        delay_ms = 1000 * (now["bufferDelayS"] - previous["bufferDelayS"]) / max(emitted, 1)
        steady = now["accelerated"] == previous["accelerated"] \
            and now["decelerated"] == previous["decelerated"]
        if steady and emitted and delay_ms <= SETTLED_BUFFER_MS:
            return {"settledInS": round(time.monotonic() - started, 2),
                    "bufferMs": round(delay_ms, 1),
                    "targetMs": round(1000 * now["targetDelayS"] / max(now["emitted"], 1), 1)}
        assert time.monotonic() - started < timeout_s, \
            f"the page's audio buffer did not settle in {timeout_s} s: {now}"
        previous = now


async def play_burst(system: object, page: Page) -> dict[str, float]:
    """Push 5 s of speech at once; what the page heard of it."""
    listening = asyncio.create_task(page.evaluate(AUDIO_LEVELS, 7.5))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    push_s = await push_speech(system, 5.0)
    await asyncio.sleep(0.2)  # the first 100 ms of speech may be concealed; none after
    before = await page.evaluate(AUDIO_STATS)
    await asyncio.sleep(started + 4.9 - time.monotonic())
    after = await page.evaluate(AUDIO_STATS)  # still speaking
    first, last = loud_span(await listening)
    return {"pushedInS": push_s, "playedMs": last - first,
            "concealedSamplesAfterStart": after["concealed"] - before["concealed"],
            "acceleratedSamples": after["accelerated"] - before["accelerated"],
            "deceleratedSamples": after["decelerated"] - before["decelerated"]}


async def test_a_burst_of_speech_plays_in_real_time_without_gaps(
        make_system: MakeSystem, launch_browser: LaunchBrowser) -> None:
    system = await make_system()
    browser = await launch_browser()
    page = await open_page(browser, page_url(system))
    await wait_state(page, "connected")
    settled = await settle(page)
    played = await play_burst(system, page)
    record_figures("paced-speech", {**settled, **played})
    assert played["pushedInS"] < 0.2, f"expected pushes within 200 ms: {played}"
    assert abs(played["playedMs"] - 5000) <= 40, f"expected 5 s +- 40 ms, played {played}"
    assert played["concealedSamplesAfterStart"] == 0, f"expected no concealment: {played}"


async def interrupt_speech(system: StreamingSystem, page: Page,
                           events: list[PlaybackInterruptedEvent]) -> dict[str, Any]:
    """Speech playing in the page, interrupted 2 s in: when it went silent, and what was heard
    before and after."""
    listening = asyncio.create_task(page.evaluate(AUDIO_LEVELS, 4.0))
    await push_speech(system, 5.0)
    await asyncio.sleep(2.0)
    interrupted_at = time.time() * 1000
    await system.bridge.interrupt()
    levels = await listening
    _, last_loud = loud_span(levels)
    return {"interruptToSilenceMs": last_loud - interrupted_at,
            "droppedMs": events[-1].dropped_ms,
            "heardAfter": max((rms for t, rms in levels if t > interrupted_at + 150),
                              default=None),
            "heardBefore": float(np.mean([rms for t, rms in levels
                                          if interrupted_at - 1500 < t < interrupted_at]))}


async def test_interrupt_silences_the_browser_within_100ms(
        make_system: MakeSystem, launch_browser: LaunchBrowser) -> None:
    system = await make_system()
    events: list[PlaybackInterruptedEvent] = []
    system.bridge.on("playback-interrupted", events.append)
    browser = await launch_browser()
    page = await open_page(browser, page_url(system))
    await wait_state(page, "connected")
    settled = await settle(page)
    attempt = await interrupt_speech(system, page, events)
    record_figures("interrupt", {**settled, **attempt})
    assert 2500 <= attempt["droppedMs"] <= 3100, attempt
    assert attempt["heardBefore"] > LOUD, attempt
    assert attempt["heardAfter"] is not None and attempt["heardAfter"] < LOUD, \
        f"expected it to stay silent: {attempt}"
    assert attempt["interruptToSilenceMs"] <= 100, f"expected silence within 100 ms: {attempt}"
