"""Rooms that come and go by the hundred leave nothing behind, and disturb no other room."""

from __future__ import annotations

import asyncio
import gc
import os
import random
import threading
import time

import pytest
from aiortc import RTCPeerConnection

from avatar_streaming import Peer, Room, RoomClosedEvent
from tests.conftest import MakeSystem, wait_until, ws_url
from tests.feeds import feeding_frames
from tests.integration.client import RtcClient, SignalingClient
from tests.signals import first_quadrant_frame, quadrants

WARM_UP = 20
CYCLES = WARM_UP + 200
WITH_MEDIA_EVERY = 20
"""Every this many cycles the visitor is a full WebRTC viewer, not only signaling."""


def resources() -> dict[str, int]:
    """What the process holds: tasks, threads, file descriptors, and the rooms, peers and
    peer connections still alive. (Its RSS is measured by bench/rooms.py --churn, with the
    server in a process of its own: here the clients' decoders share the heap.)"""
    gc.collect()
    alive = gc.get_objects()
    return {"tasks": len(asyncio.all_tasks()), "threads": threading.active_count(),
            "fds": len(os.listdir("/proc/self/fd")),
            "rooms": sum(isinstance(o, Room) for o in alive),
            "peers": sum(isinstance(o, Peer) for o in alive),
            "connections": sum(isinstance(o, RTCPeerConnection) for o in alive)}


@pytest.mark.timeout(240)
async def test_open_join_leave_idle_close_200_times_leaves_nothing_behind(
        make_system: MakeSystem) -> None:
    idle_s = 0.05
    system = await make_system({"rooms": {"onDemand": True, "idleCloseS": idle_s}})
    closed: list[RoomClosedEvent] = []
    system.server.on("room-closed", closed.append)
    viewer = RtcClient(ws_url(system))  # the default room, watched throughout
    arrivals: list[float] = []
    rng = random.Random(7)
    async with feeding_frames(system, quadrants()):
        await viewer.connect()
        video = await viewer.track("video")
        await first_quadrant_frame(video)

        audio = await viewer.track("audio")

        async def watch() -> None:
            while True:
                await video.recv()
                arrivals.append(time.monotonic())

        async def listen() -> None:  # what a client leaves unread, aiortc queues: drain it
            while True:
                await audio.recv()

        watching = asyncio.gather(watch(), listen())
        baseline: dict[str, int] = {}
        started = time.monotonic()
        for cycle in range(CYCLES):
            if cycle == WARM_UP:
                baseline = resources()
            name = f"churn-{cycle % 7}"  # names come back, some while they idle out
            media = cycle % WITH_MEDIA_EVERY == WITH_MEDIA_EVERY // 2
            client = (RtcClient if media else SignalingClient)(f"{ws_url(system)}?room={name}")
            if isinstance(client, RtcClient):
                await client.connect()
                await asyncio.wait_for((await client.track("video")).recv(), 10)
            else:
                await client.open()
                config = await client.expect("config")
                assert config["room"] == name, config
            await client.close()
            await asyncio.sleep(rng.uniform(0, 2 * idle_s))
        elapsed = time.monotonic() - started
        await wait_until(lambda: set(system.rooms) == {"default"}, timeout=5)
        await asyncio.sleep(0.5)
        after = resources()
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    fps = sum(1 for t in arrivals if t >= arrivals[-1] - elapsed) / elapsed
    print(f"\n{CYCLES} cycles ({WARM_UP} of warm-up) in {elapsed:.1f} s, "
          f"{len(closed)} rooms idled out; "
          f"after warm-up {baseline}, at the end {after}; default room's viewer at "
          f"{fps:.1f} fps")
    assert closed and all(e.reason == "idle" for e in closed)
    assert after["tasks"] <= baseline["tasks"], (baseline, after)
    assert after["threads"] <= baseline["threads"], (baseline, after)
    assert after["fds"] <= baseline["fds"], (baseline, after)
    assert after["rooms"] == 1, "only the default room is left"
    assert after["peers"] <= baseline["peers"], (baseline, after)
    assert after["connections"] <= baseline["connections"], (baseline, after)
    assert fps >= 25, f"the default room's viewer fell to {fps:.1f} fps"
    await viewer.close()
