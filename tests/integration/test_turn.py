"""TURN: with iceTransportPolicy "relay", media flows through coturn on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MakeSystem, ws_url
from tests.feeds import feeding_frames
from tests.integration.client import RtcClient
from tests.signals import (
    first_quadrant_frame,
    quadrants,
)

USER, PASSWORD = "avatar", "relay-secret"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def udp_bound(port: int) -> bool:
    """Whether a UDP socket is bound to 127.0.0.1:``port`` (/proc/net/udp: address:port in
    hex, little-endian address)."""
    local = f"0100007F:{port:04X}"
    lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    return any(line.split()[1] == local for line in lines)


@pytest.fixture
def turn_server() -> Iterator[int]:
    """coturn on 127.0.0.1 with one static user; stopped by its PID afterwards."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("coturn is required: apt-get install coturn (scripts/test installs it)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
         f"--listening-port={port}", "--min-port=49160", "--max-port=49200",
         "--allow-loopback-peers", "--lt-cred-mech", f"--user={USER}:{PASSWORD}",
         "--realm=avatar-streaming", "--no-tls", "--no-dtls", "--no-cli", "--fingerprint",
         "--log-file=stdout", "--simple-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not udp_bound(port):  # coturn binds its port
            assert process.poll() is None, f"coturn exited with {process.returncode}"
            assert time.monotonic() < deadline, f"coturn did not bind UDP port {port}"
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


async def test_media_flows_through_the_turn_relay(turn_server: int,
                                                  make_system: MakeSystem) -> None:
    # turn_server comes first: it is set up first and stopped last, after the system
    # has released its allocation
    system = await make_system({
        "iceServers": [{"urls": f"turn:127.0.0.1:{turn_server}?transport=udp",
                        "username": USER, "credential": PASSWORD}],
        "iceTransportPolicy": "relay"})
    client = RtcClient(ws_url(system))
    async with feeding_frames(system, quadrants()):
        await client.connect()
        video = await client.track("video")
        await first_quadrant_frame(video, max_frames=60)
    peer = system.server.peers[0]
    assert peer.pc is not None
    gatherer = peer.pc.getTransceivers()[0].sender.transport.transport.iceGatherer
    kinds = {c.type for c in gatherer.getLocalCandidates()}
    assert kinds == {"relay"}, f"expected only relay candidates on our side, got {kinds}"
    await client.close()
