"""The machine under the figures: CPU use over a window, and what the device is.

A saturated host measures the browser more than the server; the phases report CPU use
so such a window can be told apart.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from pathlib import Path

from playwright.async_api import Browser


class CpuMeter:
    """CPU use since creation, in % of one core: the whole host, and this process."""

    def __init__(self) -> None:
        self._host = host_cpu_ticks()
        self._own = sum(os.times()[:2])
        self._wall = time.monotonic()

    def read(self) -> dict[str, float | None]:
        host, own, wall = host_cpu_ticks(), sum(os.times()[:2]), time.monotonic()
        host_pct = None
        if host is not None and self._host is not None:
            busy, total = host[0] - self._host[0], host[1] - self._host[1]
            host_pct = round(100 * busy / total * (os.cpu_count() or 1), 1) if total else None
        return {"host_busy": host_pct,
                "bench_process": round(100 * (own - self._own) / (wall - self._wall), 1),
                "of": 100 * (os.cpu_count() or 1)}


def host_cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs, from /proc/stat; None where unreadable."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def describe_device(browser: Browser) -> str:
    """The machine and browser the figures come from, in one line for the JSON."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Chromium {browser.version} (headless, software rendering)")
