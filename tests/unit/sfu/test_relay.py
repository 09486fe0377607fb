"""The relay's life without media: retries with backoff, status, and a clean stop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from avatar_streaming import create_streaming_system
from avatar_streaming.config import JanusConfig, WebRTCConfig
from avatar_streaming.rtc.connection import PeerMedia
from avatar_streaming.sfu import JanusRelay, RelayState
from tests.conftest import wait_until
from tests.unit.sfu.fake_janus import FakeJanus


def _unused(*args: Any) -> Any:
    raise AssertionError("no media without a publication")


def _refusing(body: dict[str, Any]) -> tuple[str, dict[str, Any], None]:
    return "sync", {"videoroom": "event", "error_code": 433, "error": "Unauthorized"}, None


def _janus_tasks() -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("janus")]


async def test_a_refusing_janus_is_retried_with_growing_delays_and_stop_is_clean() -> None:
    janus = FakeJanus(reply=_refusing)
    await janus.start()
    relay = JanusRelay(JanusConfig(url=janus.url, room=9, pin="0000"),
                       WebRTCConfig(ice_servers=()), PeerMedia(_unused, _unused),
                       backoff_s=(0.05, 0.2))
    relay.start()
    await wait_until(lambda: len(janus.created_at) >= 5, 5)
    assert relay.state is RelayState.RECONNECTING and relay.publications == 0
    gaps = [b - a for a, b in zip(janus.created_at, janus.created_at[1:], strict=False)]
    assert gaps[0] < gaps[2] and max(gaps) < 0.2 + 0.3, gaps
    await relay.stop()
    assert relay.state is RelayState.STOPPED
    assert janus.sessions == {}, "every attempt's session was destroyed"
    assert _janus_tasks() == []
    await janus.close()


@pytest.mark.parametrize("slow", ["create", "detach"])
async def test_a_stop_while_janus_answers_still_ends_the_session(slow: str) -> None:
    """stop() lands while Janus holds the reply to creating a session (the session exists;
    its id is on the way) or to detaching our handle (the session's destroy comes next)."""
    janus = FakeJanus(reply=_refusing)
    janus.reply_delay_s[slow] = 0.3
    await janus.start()
    relay = JanusRelay(JanusConfig(url=janus.url, room=9), WebRTCConfig(ice_servers=()),
                       PeerMedia(_unused, _unused), backoff_s=(0.05, 0.2))
    relay.start()
    await wait_until(lambda: janus.delaying.get(slow, 0) > 0, 5)
    await relay.stop()
    assert relay.state is RelayState.STOPPED
    assert janus.sessions == {}, "the session was destroyed"
    assert _janus_tasks() == []
    await janus.close()


async def test_the_system_reports_the_relay_and_stops_it() -> None:
    system = await create_streaming_system({"webrtc": {
        "signalingPort": 0, "signalingHost": "127.0.0.1", "iceServers": [],
        "sfu": {"type": "janus", "url": "http://127.0.0.1:9/janus", "room": 5}}})
    assert system.sfu is not None
    await wait_until(lambda: system.sfu is not None
                     and system.sfu.state is RelayState.RECONNECTING, 5)
    status = system.get_status()["sfu"]
    assert status == {"type": "janus", "room": 5, "state": "reconnecting", "feedId": None,
                      "publications": 0, "users": {}}
    await system.stop()
    assert _janus_tasks() == []
