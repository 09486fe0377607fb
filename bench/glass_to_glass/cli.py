"""The command line: options, start-up of the system, browser and feeds, and the JSON."""

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
from pathlib import Path
from typing import Any

from _netns import in_netns, reexec_in_netns
from playwright.async_api import async_playwright

from avatar_streaming import StreamingSystem, create_streaming_system
from tests.browser.conftest import CHROMIUM_FLAGS  # the flags the browser tests use

from . import __doc__ as PACKAGE_DOC
from .feeds import PushLog, instrument_encoder, push_audio, push_frames, running
from .host import describe_device
from .pages import close_quietly
from .phases import PHASES_BUDGET_S, Bench, run_phases
from .stamp import check_stamp

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
"""What ``reexec_in_netns`` runs again: the folder, as it was first run."""
ABOUT = (PACKAGE_DOC or "").split("\n\n")[0] or None
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The options, as the README lists them; ``--viewers`` comes back as a list of ints."""
    parser = argparse.ArgumentParser(description=ABOUT)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--viewers", default="1,10", help="viewer counts, comma-separated")
    parser.add_argument("--ttff-samples", type=int, default=10,
                        help="fresh pages for time to first frame (0: skip)")
    parser.add_argument("--no-av-sync-ab", action="store_true",
                        help="skip the A/V sync A/B diagnostic (run after the 1-viewer phase)")
    parser.add_argument("--audio-lead-ms", type=float, default=None,
                        help="media.audioLeadMs (default: the system's)")
    parser.add_argument("--no-netns", action="store_true", help="stay on the host network")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    args.viewers = [int(v) for v in args.viewers.split(",") if v.strip()]
    return args


async def run(args: argparse.Namespace, result: dict[str, Any]) -> None:
    """Start the system, a browser and the feeds; measure every phase into ``result``."""
    check_stamp()
    loads = [os.getloadavg()[0]]
    media = {} if args.audio_lead_ms is None else {"audioLeadMs": args.audio_lead_ms}
    system = await create_streaming_system({
        "webrtc": {"signalingPort": 0, "signalingHost": "127.0.0.1", "iceServers": [],
                   "iceHostAddresses": ["127.0.0.1"]},
        "media": media})
    result["audio_lead_ms"] = system.config.media.audio_lead_ms
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(stop_quietly, system)
        await system.start()
        pushes = PushLog()
        server = instrument_encoder(system, pushes)
        playwright = await stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        stack.push_async_callback(close_quietly, browser, 8)
        result["device"] = describe_device(browser)
        start = time.monotonic()
        await stack.enter_async_context(running(push_audio(system, pushes, start),
                                                push_frames(system, pushes, start)))
        bench = Bench(system, browser, f"http://127.0.0.1:{system.server.port}/", pushes,
                      server, args)
        await run_phases(bench, args, result)
        loads.append(os.getloadavg()[0])
        result.update({
            "frames_pushed": pushes.pushes,
            "dropped_frames_metric": system.get_status()["metrics"]["droppedFrames"],
            "load_avg_1m": {"start": loads[0], "end": loads[1]}})


async def stop_quietly(system: StreamingSystem, limit_s: float = 5) -> None:
    """Stop the system; a stop that hangs must not keep the JSON from being printed."""
    try:
        async with asyncio.timeout(limit_s):
            await system.stop()
    except TimeoutError:
        log.warning("system.stop() took over %.0f s", limit_s)


def time_limit_s(args: argparse.Namespace) -> float:
    """A bound on set-up and the phases; clean-up adds at most 13 s."""
    return PHASES_BUDGET_S + 10


async def bounded_run(args: argparse.Namespace) -> dict[str, Any]:
    """Everything the run measured, even when it had to be cut short."""
    result: dict[str, Any] = {
        "bench": "glass_to_glass", "viewers": {}, "time_to_first_frame_ms": None,
        "netns": in_netns(), "device": None,
        "seconds": args.seconds, "warmup_s": args.warmup}
    limit_s = time_limit_s(args)
    try:
        async with asyncio.timeout(limit_s):
            await run(args, result)
    except TimeoutError:
        log.error("the run took over %.0f s: stopped", limit_s)
        result["error"] = f"run stopped after {limit_s:.0f} s"
    return result


def main(argv: list[str]) -> int:
    """Parse, move into a network namespace where we can, run, print the JSON line."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    if not args.no_netns:
        reexec_in_netns(str(PACKAGE_DIR), argv)
    logging.getLogger("aioice").setLevel(logging.WARNING)
    if not in_netns():
        log.warning("not in a network namespace: running on the host network")
    result = asyncio.run(bounded_run(args))
    print(json.dumps(result), flush=True)
    return 0
