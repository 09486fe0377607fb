"""Rooms spread over two server processes behind nginx, hashed on the room name.

The set-up docs/scaling.md describes: nginx forwards each WebSocket to the process that
``hash $arg_room consistent`` picks, so every peer of a room reaches the same process;
the media then flows directly between the peer and that process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.client import RtcClient, SignalingClient
from tests.integration.room_process import colours_of
from tests.signals import first_quadrant_frame

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX), reason="nginx is not installed")

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream avatars {{
        hash $arg_room consistent;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://avatars;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 120s;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server_process(k: int) -> Iterator[int]:
    """Start ``room_process`` number ``k``; yield its port; stop it by its PID."""
    process = subprocess.Popen([sys.executable, "-m", "tests.integration.room_process", str(k)],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("ready "), f"server process {k} did not start: {line!r}"
        yield int(line.split()[1])
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def nginx(folder: Path, backends: list[int]) -> Iterator[int]:
    port = free_port()
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in backends)
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=folder, servers=servers, port=port))
    process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(conf), "-e", "stderr"],
                               stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                raise AssertionError(f"nginx exited: {process.communicate()[1]}")
            time.sleep(0.02)
        yield port
    finally:
        process.terminate()
        process.wait(10)


async def rooms_of(session: aiohttp.ClientSession, backend: int) -> dict[str, Any]:
    """The rooms that one process holds open, from its own /status (not through nginx)."""
    async with session.get(f"http://127.0.0.1:{backend}/status") as response:
        status: dict[str, Any] = (await response.json())["rooms"]
        return status


async def serving(session: aiohttp.ClientSession, backends: list[int], room: str) -> int:
    """The index of the one process that holds ``room`` open (it opened on demand when
    its first peer arrived)."""
    holders = [k for k, port in enumerate(backends) if room in await rooms_of(session, port)]
    assert len(holders) == 1, f"room {room!r} is open on processes {holders}, expected one"
    return holders[0]


async def test_rooms_spread_over_two_processes_and_stay_on_theirs_across_reconnects(
        tmp_path: Path) -> None:
    with server_process(0) as first, server_process(1) as second, \
            nginx(tmp_path, [first, second]) as proxy:
        backends = [first, second]
        proxied = f"ws://127.0.0.1:{proxy}/"
        placed: dict[str, int] = {}
        async with aiohttp.ClientSession() as session:
            for i in range(12):
                name = f"user-{i}"
                client = SignalingClient(f"{proxied}?room={name}")
                await client.open()
                config = await client.expect("config")
                assert config["room"] == name
                placed[name] = await serving(session, backends, name)
                await client.close()
            assert set(placed.values()) == {0, 1}, \
                f"twelve rooms all landed on one process: {placed}"

            # One room on each process: a real viewer sees that process's picture, and
            # every reconnect of it lands there again.
            for k in (0, 1):
                room = next(name for name, where in placed.items() if where == k)
                for attempt in range(3):
                    viewer = RtcClient(f"{proxied}?room={room}")
                    try:
                        await viewer.connect()
                        assert viewer.config["room"] == room
                        await first_quadrant_frame(await viewer.track("video"),
                                                   colours=colours_of(k))
                        assert await serving(session, backends, room) == k, \
                            f"reconnect {attempt} of room {room!r} moved off process {k}"
                    finally:
                        await viewer.close()
