"""Run a benchmark again inside a network namespace that has only loopback (as root).

Chromium may pair the host's own address even when told loopback; in a namespace
with nothing but ``lo`` it cannot.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys

log = logging.getLogger(__name__)

NETNS_ENV = "AVATAR_BENCH_NETNS"


def in_netns() -> bool:
    return os.environ.get(NETNS_ENV) == "1"


def reexec_in_netns(script: str, argv: list[str]) -> None:
    """As root, exec ``script`` with ``argv`` again in a fresh namespace; else return."""
    if os.environ.get(NETNS_ENV) is not None or os.geteuid() != 0:
        return
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        log.warning("unshare or ip missing: running on the host network")
        return
    probe = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        log.warning("cannot create a network namespace: running on the host network")
        return
    os.environ[NETNS_ENV] = "1"
    os.execvp("unshare", ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                          sys.executable, script, *argv])
