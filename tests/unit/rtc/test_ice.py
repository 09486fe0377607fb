from __future__ import annotations

import asyncio

import aioice
import pytest

from avatar_streaming.rtc.ice import (
    allows_remote,
    candidate_address,
    filter_offer_candidates,
    gathering_on,
    loopback_only,
)

HOST = "candidate:1 1 udp 2122260223 {} 50000 typ host generation 0"


def test_candidate_address() -> None:
    assert candidate_address(HOST.format("10.1.2.3")) == "10.1.2.3"
    assert candidate_address("a=" + HOST.format("::1")) == "::1"
    assert candidate_address("garbage") is None


@pytest.mark.parametrize(("remote", "local", "allowed"), [
    ("127.0.0.1", ["127.0.0.1"], True),
    ("10.0.0.5", ["127.0.0.1"], False),
    ("abcd-1234.local", ["127.0.0.1"], False),
    ("10.0.0.5", None, True),
    ("10.0.0.5", ["10.0.0.1"], True),
    ("10.0.0.5", ["127.0.0.1", "10.0.0.1"], True),
])
def test_loopback_only_ice_never_tries_other_addresses(
        remote: str, local: list[str] | None, allowed: bool) -> None:
    assert loopback_only(local) is (local is not None and all(a.startswith("127.") for a in local))
    assert allows_remote(HOST.format(remote), local) is allowed


def test_offer_candidates_outside_loopback_are_removed() -> None:
    sdp = "v=0\r\nm=audio 9 UDP 0\r\na=" + HOST.format("127.0.0.1") + "\r\na=" + \
        HOST.format("192.168.1.9") + "\r\na=" + HOST.format("x.local") + "\r\na=mid:0\r\n"
    out = filter_offer_candidates(sdp, ["127.0.0.1"])
    assert "127.0.0.1" in out and "192.168.1.9" not in out and "x.local" not in out
    assert "a=mid:0" in out
    assert filter_offer_candidates(sdp, None) == sdp


async def test_gathering_on_loopback_gathers_only_loopback() -> None:
    connection = aioice.Connection(ice_controlling=True)
    with gathering_on(["127.0.0.1"]):
        await asyncio.create_task(connection.gather_candidates())  # tasks inherit the choice
    assert [c.host for c in connection.local_candidates] == ["127.0.0.1"]
    await connection.close()
    outside = aioice.Connection(ice_controlling=True)
    await outside.gather_candidates()  # outside the block: aioice's own choice, no loopback
    assert "127.0.0.1" not in [c.host for c in outside.local_candidates]
    await outside.close()
