"""A Janus of our own, for tests: its config folder written here, its process stopped by PID.

Janus refuses loopback addresses for media, so it gathers on one private address
(``ADDRESS`` on a dummy interface, see ``setup_network``), which only makes sense
inside a network namespace of the test's own.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

INTERFACE = "sfu0"
ADDRESS = "10.77.0.1"
HTTP_PORT = 8088
URL = f"http://{ADDRESS}:{HTTP_PORT}/janus"
LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
ROOT = Path(__file__).resolve().parents[2]

_PLUGINS_OFF = ("audiobridge", "duktape", "echotest", "lua", "nosip", "recordplay", "sip",
                "streaming", "textroom", "videocall", "voicemail")
_TRANSPORTS_OFF = ("mqtt", "nanomsg", "pfunix", "rabbitmq", "websockets")
_EVENTS_OFF = ("gelfevh", "mqttevh", "nanomsgevh", "rabbitmqevh", "sampleevh", "wsevh")


def why_no_namespace() -> str | None:
    """Why a network namespace of our own cannot be made here (a skip reason), or None."""
    if os.geteuid() != 0:
        return "needs root for a network namespace of its own (unshare -n)"
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare (util-linux) and ip (iproute2)"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return f"unshare -n is not permitted here: {probe.stderr.decode().strip()}"
    return None


def setup_network() -> None:
    """Loopback up, and an interface holding ADDRESS (in a fresh namespace: as root).

    A dummy interface where the kernel has the module, else one end of a veth pair.
    """
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    dummy = subprocess.run(["ip", "link", "add", INTERFACE, "type", "dummy"],
                           capture_output=True, check=False)
    if dummy.returncode != 0:
        subprocess.run(["ip", "link", "add", INTERFACE, "type", "veth", "peer", "name",
                        f"{INTERFACE}-peer"], check=True)
        subprocess.run(["ip", "link", "set", f"{INTERFACE}-peer", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{ADDRESS}/24", "dev", INTERFACE], check=True)
    subprocess.run(["ip", "link", "set", INTERFACE, "up"], check=True)


def _off(prefix: str, names: tuple[str, ...]) -> str:
    return ",".join(f"libjanus_{prefix}{n}.so" for n in names)


def write_config(folder: Path, allow_origin: str | None = None) -> Path:
    """janus.jcfg, the HTTP transport and the VideoRoom plugin; everything else off.

    ``allow_origin``: the one web origin whose pages may use the HTTP API (what Janus
    answers in Access-Control-Allow-Origin); None leaves Janus's default, ``*``. Not
    ``enforce_cors``: that refuses every request without an Origin, our relay's too.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "janus.jcfg").write_text(f"""
general: {{
    configs_folder = "{folder}"
    plugins_folder = "{LIB}/plugins"
    transports_folder = "{LIB}/transports"
    events_folder = "{LIB}/events"
    loggers_folder = "{LIB}/loggers"
    debug_level = 4
    session_timeout = 60
    interface = "{ADDRESS}"
}}
certificates: {{}}
media: {{
    rtp_port_range = "20000-40000"
}}
nat: {{
    ice_enforce_list = "{INTERFACE}"
    ignore_mdns = true
}}
plugins: {{ disable = "{_off("", _PLUGINS_OFF)}" }}
transports: {{ disable = "{_off("", _TRANSPORTS_OFF)}" }}
loggers: {{ disable = "libjanus_jsonlog.so" }}
events: {{ broadcast = false
    disable = "{_off("", _EVENTS_OFF)}" }}
""")
    (folder / "janus.transport.http.jcfg").write_text(f"""
general: {{
    json = "plain"
    base_path = "/janus"
    http = true
    port = {HTTP_PORT}
    ip = "{ADDRESS}"
    https = false
}}
admin: {{ admin_http = false }}
""" + ("" if allow_origin is None else f"""
cors: {{
    allow_origin = "{allow_origin}"
}}
"""))
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {}\n")
    return folder


class JanusProcess:
    """``janus`` in the foreground, logging to ``folder/janus.log``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout_s: float = 10.0) -> None:
        self.starts += 1
        log = (self.folder / f"janus-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            # setpriv sets PR_SET_PDEATHSIG: Janus gets SIGKILL when the process that started it
            # dies. Not a preexec_fn: Python code between fork and exec in a process with
            # threads can deadlock on a lock another thread held (it did, in dlopen).
            ["setpriv", "--pdeathsig", "KILL", "janus", "-C", str(self.folder / "janus.jcfg"),
             "-F", str(self.folder), "-o"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{URL}/info", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"janus did not come up; see {self.folder}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is said to anyone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def run_scenario(module: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """Run ``python -m module`` in a network namespace of its own (skip the test where
    Janus is missing or no namespace can be made); return the JSON it prints last."""
    if shutil.which("janus") is None:
        pytest.skip("Janus is not installed (apt-get install janus; scripts/test does it)")
    reason = why_no_namespace()
    if reason is not None:
        pytest.skip(reason)
    process = subprocess.Popen(["unshare", "-n", sys.executable, "-m", module], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout_s)
    finally:
        if process.poll() is None:  # Janus dies with it (PR_SET_PDEATHSIG), Chromium with
            process.kill()          # Playwright's driver, whose pipe closes with it
            process.wait(10)
    assert process.returncode == 0, f"the scenario failed:\n{err[-4000:]}"
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def scenario_main(prefix: str, body: Callable[[Path, JanusProcess], Awaitable[dict[str, Any]]],
                  allow_origin: str | None = None, limit_s: float = 50.0) -> None:
    """A scenario's entry point inside the namespace: the network, a Janus of its own for
    ``body``, Janus's log on failure, and what ``body`` measured printed as JSON."""
    setup_network()
    with tempfile.TemporaryDirectory(prefix=prefix) as temp:
        folder = write_config(Path(temp), allow_origin=allow_origin)
        janus = JanusProcess(folder)

        async def bounded() -> dict[str, Any]:
            async with asyncio.timeout(limit_s):
                return await body(folder, janus)

        try:
            janus.start()
            result = asyncio.run(bounded())
        except BaseException:
            for log in sorted(Path(temp).glob("janus-*.log")):
                print(f"--- {log.name}\n{log.read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            janus.stop()
    print(json.dumps(result))
