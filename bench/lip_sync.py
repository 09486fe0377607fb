"""Lip sync as Chromium shows and plays it: audio minus video of a flash and a beep
stamped with the same capture time, over 20 flashes.

How: a system on loopback, the shipped page in Chromium (in a network namespace with only
loopback when run as root). Frames at 30 fps, one white a second, and a 100 ms beep
stamped with that frame's time (tests/browser/flashes.py). The page finds each flash with
``requestVideoFrameCallback`` (its expected display time) and each beep's first loud
sample with an AudioWorklet on the remote audio (tests/browser/probes.py; an AnalyserNode
polled from the page's main thread until 8 December 2026, which made the beeps some
milliseconds late and, on a loaded machine, cost the page presented frames). Flashes count after
``--warmup`` seconds (at most 5 by default: lip sync is to be right from the start).

Cases (``--cases``):
- ``tts-ahead``: the synthesizer pushes each beep ``--tts-ahead-ms`` before its stamp;
  frames are pushed at their stamps.
- ``renderer-behind``: frames are stamped with the speech's time and pushed
  ``--video-lag-ms`` later (a renderer that makes its frames from the speech); beeps are
  pushed at their stamps.
- ``on-time``: both pushed at their stamps (speech then cannot leave before its video).
Each runs with every ``--leads`` value (``media.audioLeadMs``), and against plain aiortc
(bench/plain_aiortc.py: no lip-sync logic; ``--no-baseline`` skips it).

Prints one JSON object: per case, the signed offsets, p50 / p90 of |audio - video| and
the signed median. Target: p90 <= 15 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from avatar_streaming import MediaConfig, create_streaming_system

sys.path.insert(0, str(Path(__file__).parents[1]))
from _netns import in_netns, reexec_in_netns
from plain_aiortc import PlainAiortc

from tests.browser.conftest import CHROMIUM_FLAGS
from tests.browser.flashes import flash_and_beep, pair_onsets
from tests.browser.probes import FLASHES_AND_BEEPS

log = logging.getLogger("bench.lip_sync")
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def abs_percentile(offsets: list[float], q: float) -> float | None:
    return round(float(np.percentile(np.abs(offsets), q)), 1) if offsets else None


CASES = ("tts-ahead", "renderer-behind", "on-time")


def pushes(case: str, args: argparse.Namespace) -> tuple[float, float]:
    """(video lag, speech ahead) of a case, ms."""
    return {"tts-ahead": (0.0, args.tts_ahead_ms), "renderer-behind": (args.video_lag_ms, 0.0),
            "on-time": (0.0, 0.0)}[case]


@contextlib.asynccontextmanager
async def serving(lead_ms: float | None, media: dict[str, Any] | None = None
                  ) -> AsyncIterator[Any]:
    """Our system with ``media.audioLeadMs`` = ``lead_ms``; None: plain aiortc."""
    if lead_ms is None:
        async with PlainAiortc() as baseline:
            yield baseline
        return
    system = await create_streaming_system({
        "webrtc": {"signalingPort": 0, "signalingHost": "127.0.0.1", "iceServers": [],
                   "iceHostAddresses": ["127.0.0.1"]},
        "media": {**(media or {}), "audioLeadMs": lead_ms}})
    try:
        await system.start()
        yield system
    finally:
        await system.stop()


async def one_case(case: str, lead_ms: float | None, args: argparse.Namespace
                   ) -> dict[str, Any]:
    lag_ms, ahead_ms = pushes(case, args)
    stop = asyncio.Event()
    feeder: asyncio.Task[None] | None = None
    media = {} if args.audio_bitrate is None else {"audioBitrate": args.audio_bitrate}
    async with serving(lead_ms, media) as system:
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                           args=CHROMIUM_FLAGS)
                try:
                    page = await browser.new_page()
                    await page.goto(f"http://127.0.0.1:{system.server.port}/")
                    await page.wait_for_function(
                        "() => window.avatarClient && "
                        "window.avatarClient.state === 'connected'", timeout=30_000)
                    feeder = asyncio.create_task(
                        flash_and_beep(system, lag_ms, stop, ahead_ms))
                    seen = await page.evaluate(FLASHES_AND_BEEPS,
                                               args.warmup + args.flashes + 1.5)
                finally:
                    stop.set()
                    await browser.close()
        finally:
            if feeder is not None:
                await feeder
    pairs = pair_onsets(seen["beeps"], seen["flashes"])
    start = min(seen["flashes"], default=0.0)
    offsets = [o for at, o in pairs if at - start >= args.warmup * 1000][:args.flashes]
    early = [o for at, o in pairs if at - start < args.warmup * 1000]
    return {
        "case": case,
        "server": "ours" if lead_ms is not None else "plain aiortc",
        "renderer_lag_ms": lag_ms,
        "tts_ahead_ms": ahead_ms,
        "audio_lead_ms": lead_ms,
        "flashes": len(offsets),
        "audio_minus_video_ms": [round(o, 1) for o in offsets],
        "abs_p50_ms": abs_percentile(offsets, 50),
        "abs_p90_ms": abs_percentile(offsets, 90),
        "signed_median_ms": None if not offsets else round(float(np.median(offsets)), 1),
        "during_warmup_ms": [round(o, 1) for o in early],
        "during_warmup_abs_p90_ms": abs_percentile(early, 90),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"bench": "lip_sync", "netns": in_netns(),
                              "warmup_s": args.warmup, "target_abs_p90_ms": 15, "cases": []}
    started = time.monotonic()
    for lead in [*args.leads, *([None] if args.baseline else [])]:
        for case in args.cases:
            try:
                async with asyncio.timeout(args.warmup + args.flashes + 60):
                    result["cases"].append(await one_case(case, lead, args))
            except TimeoutError:
                result["cases"].append({"case": case, "audio_lead_ms": lead,
                                        "error": "timed out"})
            except PlaywrightError as exc:  # the page never connected: say so, go on
                result["cases"].append({"case": case, "audio_lead_ms": lead,
                                        "error": str(exc).splitlines()[0]})
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--flashes", type=int, default=20, help="flashes measured per case")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds before flashes count")
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--video-lag-ms", type=float, default=100.0,
                        help="renderer-behind: how long after its stamp a frame is pushed")
    parser.add_argument("--tts-ahead-ms", type=float, default=100.0,
                        help="tts-ahead: how long before its stamp a beep is pushed")
    parser.add_argument("--leads", default=f"{MediaConfig.audio_lead_ms:g}",
                        help="media.audioLeadMs values to run, ms, comma-separated (0: none)")
    parser.add_argument("--audio-bitrate", type=int, default=None,
                        help="media.audioBitrate of ours (default: the system's)")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip the plain-aiortc baseline (bench/plain_aiortc.py)")
    parser.add_argument("--no-netns", action="store_true", help="stay on the host network")
    args = parser.parse_args(argv)
    args.cases = [c for c in args.cases.split(",") if c.strip()]
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"--cases: expected some of {', '.join(CASES)}, got {sorted(unknown)}")
    args.leads = [float(v) for v in args.leads.split(",") if v.strip()]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.no_netns:
        reexec_in_netns(str(Path(__file__).resolve()), argv)
    logging.getLogger("aioice").setLevel(logging.WARNING)
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
