"""One server process of several behind a proxy: ``python -m tests.integration.room_process K``.

Opens rooms on demand, feeds every room it opens the quadrants in the K-th rotation (so a
viewer can tell by the picture which process serves it), prints "ready PORT" once it
listens and streams until SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from avatar_streaming import Room, RoomClosedEvent, create_streaming_system
from tests.conftest import LOOPBACK_WEBRTC
from tests.feeds import feeding_frames
from tests.signals import QUADRANT_COLOURS, quadrants


def colours_of(k: int) -> tuple[tuple[int, int, int], ...]:
    """The picture of process ``k``: the quadrants rotated by ``k``."""
    return QUADRANT_COLOURS[k:] + QUADRANT_COLOURS[:k]


async def serve(k: int) -> None:
    system = await create_streaming_system(
        {"webrtc": {**LOOPBACK_WEBRTC, "rooms": {"onDemand": True, "idleCloseS": 2}}})
    image = quadrants(colours=colours_of(k))
    feeds: dict[str, contextlib.AsyncExitStack] = {}

    async def opened(room: Room) -> None:
        feeds[room.name] = stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(feeding_frames(room, image))

    async def closed(ev: RoomClosedEvent) -> None:
        stack = feeds.pop(ev.room, None)
        if stack is not None:
            await stack.aclose()

    system.server.on("room-opened", opened)
    system.server.on("room-closed", closed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await system.start()
    print(f"ready {system.server.port}", flush=True)
    try:
        await stop.wait()
    finally:
        for stack in feeds.values():
            await stack.aclose()
        await system.stop()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
