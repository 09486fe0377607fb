"""A viewer in a process of its own: connects, says "ready" once video arrives, then waits.

The test freezes it (SIGSTOP): from then on it reads nothing, neither its WebSocket
nor its UDP socket, like a client whose machine hangs.
"""

from __future__ import annotations

import asyncio
import sys

from tests.integration.client import RtcClient


async def main(url: str) -> None:
    client = RtcClient(url)
    await client.connect()
    await asyncio.wait_for((await client.track("video")).recv(), 15)
    print("ready", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
