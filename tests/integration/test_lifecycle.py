"""Stopping: quickly with many peers, leaving nothing behind; the command stops on signals;
a client gone mid-negotiation or frozen is cleaned up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time

import pytest

from avatar_streaming import PeerDisconnectedEvent
from avatar_streaming.rtc.state import PeerState
from tests.conftest import MakeSystem, wait_until, ws_url
from tests.feeds import feeding_frames
from tests.integration.client import RtcClient, note_frames
from tests.signals import quadrants


@pytest.mark.timeout(120)
async def test_stop_with_20_peers_is_quick_and_leaves_no_task_or_thread(
        make_system: MakeSystem) -> None:
    tasks_before = {t for t in asyncio.all_tasks() if not t.done()}
    threads_before = set(threading.enumerate())
    system = await make_system()
    clients = [RtcClient(ws_url(system)) for _ in range(20)]
    await asyncio.gather(*(c.connect() for c in clients))
    await wait_until(lambda: system.get_status()["peerCount"] == 20, timeout=30)
    started = time.monotonic()
    await system.stop()
    stop_s = time.monotonic() - started
    print(f"\nstop() with 20 peers: {stop_s * 1000:.0f} ms")
    assert stop_s < 2, f"expected stop() under 2 s with 20 peers, took {stop_s:.2f} s"
    for client in clients:
        await client.close()

    def ours() -> set[asyncio.Task[object]]:
        return {t for t in asyncio.all_tasks() if not t.done()} - tasks_before \
            - {asyncio.current_task()}  # type: ignore[operator]

    with contextlib.suppress(AssertionError):  # the clients' own tasks end as they close
        await wait_until(lambda: not ours(), 5)
    assert not [t.get_name() for t in ours()], f"tasks left behind: {ours()}"
    left = [t.name for t in set(threading.enumerate()) - threads_before
            if t.name.startswith("encoder")]
    assert not left, f"encoder threads left behind: {left}"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_the_command_stops_cleanly_on_signals(sig: signal.Signals) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "avatar_streaming.cli", "demo", "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    assert b"open http://127.0.0.1:" in line
    os.kill(process.pid, sig)
    code = await asyncio.wait_for(process.wait(), 10)
    _, err = await process.communicate()
    assert code == 0, f"expected a clean exit, got {code}: {err.decode()[-500:]}"
    assert b"Traceback" not in err


async def test_a_client_gone_mid_negotiation_is_cleaned_up(make_system: MakeSystem) -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection

    from avatar_streaming.rtc.ice import gathering_on
    from tests.integration.client import SignalingClient

    system = await make_system()
    watcher = RtcClient(ws_url(system))
    await watcher.connect()
    await asyncio.wait_for((await watcher.track("video")).recv(), 10)
    await wait_until(lambda: all(p.state is PeerState.CONNECTED for p in system.server.peers))
    tasks_before = len([t for t in asyncio.all_tasks() if not t.done()])  # all of its running
    for _ in range(5):
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("video", direction="recvonly")
        with gathering_on(["127.0.0.1"]):
            await pc.setLocalDescription(await pc.createOffer())
        quitter = SignalingClient(ws_url(system))
        await quitter.open()
        await quitter.expect("config")
        await quitter.send({"type": "offer", "data": {"type": "offer",
                                                      "sdp": pc.localDescription.sdp}})
        await quitter.close()  # gone before the answer
        await pc.close()
    await wait_until(lambda: len(system.server.peers) == 1, timeout=10)
    assert system.get_status()["peerCount"] == 1

    def running() -> list[str]:
        return [t.get_coro().__qualname__ for t in asyncio.all_tasks() if not t.done()]

    with contextlib.suppress(AssertionError):  # the quitters' peer connections wind down
        await wait_until(lambda: len(running()) <= tasks_before, 5)
    assert len(running()) <= tasks_before, f"tasks grew from {tasks_before}: {running()}"
    frame = await asyncio.wait_for((await watcher.track("video")).recv(), 5)
    assert frame.width == 512, "the watcher kept its stream"
    await watcher.close()


async def test_a_viewer_that_never_reads_is_dropped_and_slows_no_one(
        make_system: MakeSystem) -> None:
    system = await make_system({"pingInterval": 0.5})
    joined: list[str] = []
    gone: list[PeerDisconnectedEvent] = []
    system.server.on("peer-connected", lambda peer: joined.append(peer.id))
    system.server.on("peer-disconnected", gone.append)
    pushed: list[float] = []
    system.bridge.on("video-frame", lambda frame: pushed.append(time.monotonic()))
    async with feeding_frames(system, quadrants()):
        good = RtcClient(ws_url(system))
        await good.connect()
        frozen = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.integration.frozen_viewer", ws_url(system),
            stdout=asyncio.subprocess.PIPE)
        try:
            assert frozen.stdout is not None
            line = await asyncio.wait_for(frozen.stdout.readline(), 30)
            assert line == b"ready\n", line
            await wait_until(lambda: len(joined) == 2, timeout=10)
            seen: list[float] = []

            watching = asyncio.create_task(note_frames(await good.track("video"), seen))
            os.kill(frozen.pid, signal.SIGSTOP)
            froze = time.monotonic()
            await wait_until(lambda: bool(gone), timeout=10)
            dropped_s = time.monotonic() - froze
            await asyncio.sleep(1.0)
            window = time.monotonic() - froze
            watching.cancel()
        finally:
            os.kill(frozen.pid, signal.SIGKILL)
            os.kill(frozen.pid, signal.SIGCONT)
            await frozen.wait()
        fps = len([t for t in seen if t >= froze + 0.5]) / (window - 0.5)  # past any backlog
        pushes = len([t for t in pushed if t >= froze]) / window
    print(f"\nfrozen viewer dropped after {dropped_s:.2f} s ({gone[0].reason}); the other at "
          f"{fps:.1f} fps; pushes at {pushes:.1f} per second")
    assert [(g.peer_id, g.reason) for g in gone] == [(joined[1], "timeout")]
    assert system.get_status()["peerCount"] == 1
    assert fps >= 25, f"expected the other viewer to stream on at ~30 fps, got {fps:.1f}"
    assert pushes >= 25, f"expected the renderer to push on at ~30 fps, got {pushes:.1f}"
    await good.close()


async def test_a_client_that_hangs_up_its_connection_is_closed_at_once(
        make_system: MakeSystem) -> None:
    """The remote's DTLS close reaches us: "closed" (not "ice-failed") and no wait on a timer;
    its peer went through the state table to CLOSED; the other viewer streams on."""
    from avatar_streaming.rtc.state import PeerState

    system = await make_system()
    gone: list[PeerDisconnectedEvent] = []
    system.server.on("peer-disconnected", gone.append)
    async with feeding_frames(system, quadrants()):
        other, leaver = RtcClient(ws_url(system)), RtcClient(ws_url(system))
        for client in (other, leaver):
            await client.connect()
            await asyncio.wait_for((await client.track("video")).recv(), 10)
        peer = next(p for p in system.server.peers if p.id == leaver.config["peerId"])
        assert peer.state is PeerState.CONNECTED
        assert leaver.pc is not None
        hung_up = time.monotonic()
        await leaver.pc.close()  # the WebSocket stays open
        await wait_until(lambda: bool(gone), timeout=5)
        noticed_s = time.monotonic() - hung_up
        assert [(g.peer_id, g.reason) for g in gone] == [(peer.id, "closed")]
        assert noticed_s < 0.5, f"expected the hang-up noticed at once, took {noticed_s:.2f} s"
        await wait_until(lambda: peer.state is PeerState.CLOSED, timeout=2)
        await asyncio.wait_for(leaver.closed.wait(), 5)  # its signaling is closed too
        frame = await asyncio.wait_for((await other.track("video")).recv(), 5)
        assert frame.width == 512, "the other viewer kept its stream"
        assert system.get_status()["peerCount"] == 1
        await other.close()
        await leaver.close()
