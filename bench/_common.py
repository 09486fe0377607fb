"""Pieces the benchmarks share: what is pushed, how CPU time is read, the server in a process."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import numpy as np
from _children import Child

from avatar_streaming import AudioChunk, StreamingSystem, VideoFrame
from avatar_streaming.demo.face import FaceRenderer

LOOPBACK_WEBRTC = {"signalingHost": "127.0.0.1", "iceServers": [],
                   "iceHostAddresses": ["127.0.0.1"]}
FPS = 30
SIZE = 512


class TalkingFace:
    """Realistic content for the encoder: the demo face talking, 2 s of frames drawn up front.

    Drawing happens before the measurement, so the figures are the system's
    alone, not the drawing's.
    """

    def __init__(self, seconds: float = 2.0) -> None:
        face = FaceRenderer(SIZE, SIZE)
        times = np.arange(int(seconds * FPS)) / FPS
        self._frames = [face.render(0.5 + 0.5 * np.sin(2 * np.pi * 3 * t), t) for t in times]
        self._next = 0

    def frame(self) -> np.ndarray:
        frame = self._frames[self._next % len(self._frames)]
        self._next += 1
        return frame


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (seconds)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def feed(system: StreamingSystem, seconds: float | None = None) -> None:
    """Push the talking face at 30 fps and a continuous tone, like a renderer and a TTS."""
    face = TalkingFace()
    t = np.arange(1600) / 16000
    tone = (0.2 * 32767 * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes()
    start, n, audio_pushed = time.monotonic(), 0, 0.0
    while seconds is None or time.monotonic() - start < seconds:
        await system.bridge.push_video_frame(VideoFrame(face.frame(), SIZE, SIZE,
                                                        time.time() * 1000))
        while audio_pushed < time.monotonic() - start + 0.3:
            await system.bridge.push_audio_chunk(AudioChunk(tone, 16000, 1, time.time() * 1000))
            audio_pushed += 0.1
        n += 1
        await asyncio.sleep(max(0.0, start + n / FPS - time.monotonic()))


class ServerProcess:
    """bench/serve.py (ours, ``--control``) in a process of its own, asked for censuses.

    The server's figures (tasks, threads, descriptors, RSS) are then its own, not
    mixed with those of the clients the bench runs in this process.
    """

    def __init__(self, webrtc: dict[str, object] | None = None) -> None:
        self._child = Child(["serve.py", "--kind", "ours", "--control",
                             "--webrtc", json.dumps(webrtc or {})])
        self.port = 0

    async def __aenter__(self) -> ServerProcess:
        await self._child.start()
        ready = (await self._child.line(60)).split()
        if not ready or ready[0] != "ready":
            await self.__aexit__()
            raise RuntimeError(f"serve.py: expected 'ready PORT', got {ready}")
        self.port = int(ready[1])
        return self

    @property
    def pid(self) -> int:
        return self._child.pid

    async def ask(self, command: str, timeout: float = 60) -> dict[str, Any]:
        """One command of serve.py's Control ("census", "counters", "trace-start", ...)."""
        return await self._child.ask(command, timeout)

    async def __aexit__(self, *_exc: object) -> None:
        await self._child.stop(grace_s=0)
