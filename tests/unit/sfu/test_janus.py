"""JanusSession against a fake Janus over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from avatar_streaming.errors import SfuError, SfuSessionLost
from avatar_streaming.sfu.janus import JanusEvent, JanusSession
from tests.conftest import wait_until
from tests.unit.sfu.fake_janus import FakeJanus


@pytest.fixture
async def janus() -> AsyncIterator[FakeJanus]:
    fake = FakeJanus()
    await fake.start()
    yield fake
    await fake.close()


def _janus_tasks() -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("janus")]


async def test_replies_at_once_or_later_on_the_poll(janus: FakeJanus) -> None:
    session = JanusSession(janus.url, token="tok", api_secret="sec")
    await session.open()
    handle = await session.attach("janus.plugin.videoroom")
    assert (await handle.send({"request": "exists", "room": 1})).data["exists"] is True
    reply = await handle.send({"request": "publish"}, {"type": "offer", "sdp": "v=0"})
    assert reply.data["echo"] == {"request": "publish"}
    assert reply.jsep == {"type": "answer", "sdp": "v=0"}
    with pytest.raises(SfuError, match="No such room") as info:
        await handle.send({"request": "fail"})
    assert info.value.code == 426
    # every request carries the credentials; the long poll too, as query parameters
    assert all(r["token"] == "tok" and r["apisecret"] == "sec" for r in janus.requests)
    assert janus.gets and all(g["token"] == "tok" for g in janus.gets)
    await handle.detach()
    await session.destroy()
    assert janus.sessions == {} and janus.handles == {}
    assert _janus_tasks() == []


async def test_events_nobody_asked_for_go_to_their_handle(janus: FakeJanus) -> None:
    session = JanusSession(janus.url)
    await session.open()
    handle = await session.attach("janus.plugin.videoroom")
    assert session.id is not None
    janus.push(session.id, {"janus": "event", "sender": handle.id, "plugindata": {
        "data": {"videoroom": "event", "unpublished": 5}}})
    janus.push(session.id, {"janus": "hangup", "sender": handle.id, "reason": "DTLS alert"})
    janus.push(session.id, {"janus": "event", "sender": 1, "plugindata": {"data": {}}})
    first = await asyncio.wait_for(handle.events.get(), 2)
    second = await asyncio.wait_for(handle.events.get(), 2)
    assert first == JanusEvent("event", {"videoroom": "event", "unpublished": 5})
    assert (second.kind, second.data["reason"]) == ("hangup", "DTLS alert")
    await session.destroy()


async def test_keepalives_keep_the_session(janus: FakeJanus) -> None:
    session = JanusSession(janus.url, keepalive_s=0.05)
    await session.open()
    await wait_until(lambda: sum(r["janus"] == "keepalive" for r in janus.requests) >= 3, 2)
    assert not session.lost.is_set()
    await session.destroy()


async def test_a_restarted_janus_loses_the_session(janus: FakeJanus) -> None:
    session = JanusSession(janus.url)
    await session.open()
    handle = await session.attach("janus.plugin.videoroom")
    janus.restart()
    await asyncio.wait_for(session.lost.wait(), 2)
    assert "No such session" in session.lost_reason
    assert (await asyncio.wait_for(handle.events.get(), 1)).kind == "lost"
    with pytest.raises(SfuSessionLost):
        await handle.send({"request": "exists"})
    await session.destroy()
    assert _janus_tasks() == []


async def test_polls_answered_with_nothing_lose_the_session_without_spinning(
        janus: FakeJanus) -> None:
    session = JanusSession(janus.url)
    await session.open()
    polls = len(janus.gets)
    janus.empty_polls = True
    await asyncio.wait_for(session.lost.wait(), 3)
    assert "expected events" in session.lost_reason
    assert len(janus.gets) - polls <= 3, "two empty answers, a second apart, then it stops"
    await session.destroy()
    assert _janus_tasks() == []


async def test_a_janus_that_timed_us_out_loses_the_session(janus: FakeJanus) -> None:
    session = JanusSession(janus.url)
    await session.open()
    assert session.id is not None
    janus.push(session.id, {"janus": "timeout", "session_id": session.id})
    await asyncio.wait_for(session.lost.wait(), 2)
    await session.destroy()


async def test_a_janus_gone_loses_the_session_and_fails_waiting_requests() -> None:
    fake = FakeJanus(reply=lambda body: ("async", {}, None))
    await fake.start()
    session = JanusSession(fake.url, request_timeout_s=5)
    await session.open()
    handle = await session.attach("janus.plugin.videoroom")
    fake.push = lambda *args: None  # type: ignore[method-assign]  # the reply never comes
    waiting = asyncio.ensure_future(handle.send({"request": "join"}))
    await asyncio.sleep(0.1)
    await fake.close()
    with pytest.raises(SfuSessionLost):
        await asyncio.wait_for(waiting, 4)
    assert session.lost.is_set()
    await session.destroy()  # nothing to destroy any more: does not raise
    assert _janus_tasks() == []


async def test_nothing_listening_fails_to_open() -> None:
    session = JanusSession("http://127.0.0.1:9/janus")
    with pytest.raises(SfuSessionLost, match="create request"):
        await session.open()
    await session.close()
