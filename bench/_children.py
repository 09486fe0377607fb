"""The benchmarks' child processes: started pinned to cores, spoken to by line (JSON back),
stopped by their PID: their stdin closed (they end themselves), else SIGTERM, else SIGKILL.

``Child`` is for the benches that run an event loop; ``start`` / ``ask`` / ``stop`` for
those that do not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PYTHON = sys.executable


def _pinned(cores: set[int] | None) -> Any:
    return (lambda: os.sched_setaffinity(0, cores)) if cores else None


class Child:
    """``python ARGS...`` (in bench/) in a process of its own."""

    def __init__(self, args: list[str], cores: set[int] | None = None) -> None:
        self.args, self.cores = args, cores
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            PYTHON, *self.args, cwd=HERE, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, preexec_fn=_pinned(self.cores))

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def line(self, timeout_s: float = 60) -> str:
        """Its next line of output; RuntimeError if it exited instead."""
        assert self.process is not None and self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout_s)
        if not raw:
            raise RuntimeError(f"{' '.join(self.args[:2])} exited "
                               f"({await self.process.wait()})")
        return raw.decode()

    async def tell(self, command: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()

    async def ask(self, command: str, timeout_s: float = 30) -> dict[str, Any]:
        """Send one command line; its one JSON line back."""
        await self.tell(command)
        body: dict[str, Any] = json.loads(await self.line(timeout_s))
        return body

    async def stop(self, grace_s: float = 10) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        for signal_it, wait_s in ((None, grace_s), (process.terminate, 10.0),
                                  (process.kill, 10.0)):
            if signal_it is not None and process.returncode is None:
                signal_it()
            try:
                await asyncio.wait_for(process.wait(), wait_s)
                return
            except TimeoutError:
                continue


def start(args: list[str], core: int | None = None) -> subprocess.Popen[str]:
    """``python ARGS...`` (in bench/), pinned to ``core``, with pipes (text)."""
    return subprocess.Popen([PYTHON, *args], cwd=HERE, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True,
                            preexec_fn=_pinned(None if core is None else {core}))


def ask(process: subprocess.Popen[str], line: str) -> dict[str, Any]:
    """Send one command line; its one JSON line back."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(f"{line}\n")
    process.stdin.flush()
    answer: dict[str, Any] = json.loads(process.stdout.readline())
    return answer


def stop(process: subprocess.Popen[str], grace_s: float = 10) -> None:
    """Close its stdin and wait ``grace_s``; then SIGTERM; then SIGKILL."""
    if process.stdin is not None:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
    for signal_it, wait_s in ((None, grace_s), (process.terminate, 10.0),
                              (process.kill, None)):
        if signal_it is not None and process.poll() is None:
            signal_it()
        try:
            process.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue
