"""The phases: what is measured, in which order, each within its own time bound.

A phase that overruns (an overloaded machine) reports an error in its place and the
others still report; the run as a whole stays within PHASES_BUDGET_S.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from playwright.async_api import Browser, Page
from playwright.async_api import Error as PlaywrightError

from avatar_streaming import StreamingSystem

from .feeds import PushLog, ServerLog
from .figures import page_figures, server_figures, summary, viewer_report
from .host import CpuMeter
from .pages import clock_offset_ms, close_quietly, collect, open_viewer, wait_connected

log = logging.getLogger(__name__)

TTFF_SAMPLE_LIMIT_S = 3.0
# Time to first frame, step by step, as the page sees it.
TTFF_STEPS = ("ws_open_to_offer_sent", "offer_sent_to_answer", "answer_to_pc_connected",
              "pc_connected_to_first_frame")
PHASES_BUDGET_S = 150.0  # + start-up and clean-up: the whole run stays under 3 minutes


@dataclass
class Bench:
    """What every phase measures with: the running system, the browser and the logs."""

    system: StreamingSystem
    browser: Browser
    url: str
    pushes: PushLog
    server: ServerLog | None
    args: argparse.Namespace
    pages: list[Page] = field(default_factory=list)

    async def measure_viewers(self, count: int) -> dict[str, Any]:
        """Bring the open pages to ``count``, warm up, and measure in every one of them."""
        while len(self.pages) > count:
            await close_quietly(self.pages.pop())
        opening = [open_viewer(self.browser, self.url) for _ in range(count - len(self.pages))]
        self.pages += await asyncio.gather(*opening)
        await asyncio.gather(*(wait_connected(p, connect_limit_s(count)) for p in self.pages))
        log.info("%d viewer(s) connected; warming up %.0f s", count, self.args.warmup)
        await asyncio.sleep(self.args.warmup)
        offset = await clock_offset_ms(self.pages[0])
        window_start, cpu = time.time() * 1000, CpuMeter()
        samples, stats = await collect(self.pages, self.args.seconds)
        window = (window_start - 1000, time.time() * 1000)
        report = viewer_report(samples, stats, self.pushes,
                               server_figures(self.server, self.pushes, window), offset)
        report["cpu_pct"] = cpu_pct = cpu.read()
        busy = cpu_pct["host_busy"]
        if busy is not None and busy >= 0.9 * (cpu_pct["of"] or 100):
            report["warning"] = ("CPU saturated during the window: these figures measure the "
                                 "overloaded machine (mostly the browser), not the server")
            log.warning("%d viewer(s): %s", count, report["warning"])
        log.info("%d viewer(s): push->display %s", count, report["push_to_display_ms"])
        return report

    async def measure_av_sync(self) -> dict[str, Any]:
        """Two pages side by side: the shipped one, and one whose video is not lip-synced.

        Same stream, same moment, same vsync: the difference is what Chromium's
        audio/video synchronisation adds to the video's latency.
        """
        await self.close_pages()
        self.pages = [await open_viewer(self.browser, self.url),
                      await open_viewer(self.browser, self.url, unsync_audio=True)]
        await asyncio.gather(*(wait_connected(p, connect_limit_s(2)) for p in self.pages))
        await asyncio.sleep(self.args.warmup)
        samples, stats = await collect(self.pages, self.args.seconds)
        await self.close_pages()
        keys = ("video_jitter_buffer_ms", "video_jitter_buffer_minimum_ms",
                "audio_jitter_buffer_ms", "audio_playout_delay_ms")
        report: dict[str, Any] = {"note": "2 pages at once; the second has its audio moved "
                                          "out of the video's sync group (SDP msid)"}
        for name, page_samples, page_stats in zip(("shipped_page", "audio_not_synced"),
                                                  samples, stats, strict=True):
            figures = page_figures(page_samples, self.pushes)
            report[name] = {"push_to_display_ms": summary(figures.display),
                            "receive_to_display_ms": summary(figures.receive_to_display),
                            **{k: page_stats[k] for k in keys}}
        log.info("A/V sync A/B: push->display p50 %s (shipped) vs %s (not synced)",
                 report["shipped_page"]["push_to_display_ms"]["p50"],
                 report["audio_not_synced"]["push_to_display_ms"]["p50"])
        return report

    async def close_pages(self) -> None:
        """Close every open page, so the next phase starts with no other viewer."""
        while self.pages:
            await close_quietly(self.pages.pop())

    async def first_frame_sample(self) -> dict[str, float]:
        """Open a fresh page; WebSocket open -> pc connected -> first frame presented."""
        page = await open_viewer(self.browser, self.url)
        try:
            await page.wait_for_function(
                "window.__g2g && window.__g2g.wsOpenAt !== null && "
                "window.__g2g.firstFrame !== null", timeout=TTFF_SAMPLE_LIMIT_S * 1000)
            g = await page.evaluate("window.__g2g")
        finally:
            await close_quietly(page)
        marks = [g["wsOpenAt"], g["offerSentAt"], g["answerAt"], g["pcConnectedAt"],
                 g["firstFrame"]["displayAt"]]
        steps = zip(TTFF_STEPS, itertools.pairwise(marks), strict=True)
        return {"total": marks[-1] - marks[0],
                **{name: b - a for name, (a, b) in steps if a is not None and b is not None}}

    async def time_to_first_frame(self) -> dict[str, Any]:
        """Fresh pages one after another, with no other viewer watching."""
        await self.close_pages()
        await asyncio.sleep(1.0)
        samples, failures = [], 0
        for _ in range(self.args.ttff_samples):
            try:
                samples.append(await self.first_frame_sample())
            except PlaywrightError as exc:
                failures += 1
                log.error("no first frame: %s", exc)
            await asyncio.sleep(0.6)  # past the encoder's keyframe rate limit (0.5 s)
        log.info("time to first frame: %s", [round(s["total"]) for s in samples])
        if not samples:
            return {"error": f"no first frame in {failures} tries"}

        def med(key: str) -> float | None:
            values = [s[key] for s in samples if key in s]
            return round(float(np.median(values)), 1) if values else None

        return {"median": med("total"), "samples": [round(s["total"], 1) for s in samples],
                "median_steps": {name: med(name) for name in TTFF_STEPS},
                "failures": failures, "other_viewers": 0, "from": "WebSocket open",
                "to": "first requestVideoFrameCallback expectedDisplayTime"}


async def run_phases(bench: Bench, args: argparse.Namespace, result: dict[str, Any]) -> None:
    """1 viewer, the A/V sync A/B, time to first frame, then the larger counts (heaviest
    last: on a small machine they may overrun, and must not take the others with them)."""
    deadline = time.monotonic() + PHASES_BUDGET_S
    for n in sorted(args.viewers):
        if n > 1 and args.ttff_samples and result["time_to_first_frame_ms"] is None:
            result["time_to_first_frame_ms"] = await phase(
                "time to first frame", bench.time_to_first_frame(), ttff_phase_limit_s(args),
                deadline)
        result["viewers"][str(n)] = await phase(f"{n} viewer(s)", bench.measure_viewers(n),
                                                viewer_phase_limit_s(args, n), deadline)
        if n == 1 and not args.no_av_sync_ab:
            result["av_sync_ab"] = await phase("A/V sync A/B", bench.measure_av_sync(),
                                               viewer_phase_limit_s(args, 2), deadline)
    if args.ttff_samples and result["time_to_first_frame_ms"] is None:
        result["time_to_first_frame_ms"] = await phase(
            "time to first frame", bench.time_to_first_frame(), ttff_phase_limit_s(args),
            deadline)


async def phase(name: str, coro: Coroutine[Any, Any, dict[str, Any]], limit_s: float,
                deadline: float) -> dict[str, Any]:
    """Run one phase within ``limit_s`` (and the run's deadline); overrunning is reported."""
    limit_s = min(limit_s, deadline - time.monotonic())
    if limit_s < 5:
        coro.close()
        log.error("%s: skipped, the run's time is spent", name)
        return {"error": "skipped: the run's time budget was spent"}
    try:
        async with asyncio.timeout(limit_s):
            return await coro
    except (TimeoutError, PlaywrightError) as exc:
        log.error("%s: no result (%r); machine overloaded?", name, exc)
        return {"error": f"no result within {limit_s:.0f} s: {exc!r}"[:300]}


def connect_limit_s(viewers: int) -> float:
    """Opening pages is a CPU burst: on 2 busy cores 10 pages took up to 55 s to connect."""
    return 8 + 5 * viewers


def viewer_phase_limit_s(args: argparse.Namespace, viewers: int) -> float:
    """Connect, warm up and measure, and 5 s and a second a page to spare."""
    return connect_limit_s(viewers) + float(args.warmup + args.seconds) + 5 + viewers


def ttff_phase_limit_s(args: argparse.Namespace) -> float:
    """About 3.5 s a fresh page (its 3 s bound, then the pause), and 5 s to spare."""
    return 5 + int(args.ttff_samples) * 3.5
