"""/metrics, /status and /healthz, scraped while a real viewer watches."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from avatar_streaming import FrameSentEvent
from tests.conftest import MakeSystem, wait_until, ws_url
from tests.feeds import feeding_frames, feeding_tone
from tests.integration.client import RtcClient
from tests.integration.test_fanout import video_receiver
from tests.signals import ToneTrack, quadrants


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_metrics_status_and_health(make_system: MakeSystem) -> None:
    system = await make_system()
    client = RtcClient(ws_url(system))
    base = f"http://127.0.0.1:{system.server.port}"
    async with feeding_frames(system, quadrants()), feeding_tone(system, 440.0):
        await client.connect()
        await asyncio.wait_for((await client.track("video")).recv(), 10)
        await wait_until(lambda: system.get_status()["peerCount"] == 1)
        receiver = video_receiver(client)
        ssrc = next(iter(s.source for s in receiver.getSynchronizationSources()))
        await receiver._send_rtcp_pli(ssrc)
        await wait_until(lambda: system.video_stream.plis_received >= 1
                         and system.video_encoder.frames_encoded > 15)  # what is counted below
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/metrics") as response:
                assert response.status == 200
                scraped = samples(await response.text())
            async with session.get(f"{base}/status") as response:
                status = await response.json()
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 200
    room = (("room", "default"),)
    video, audio = (("kind", "video"), *room), (("kind", "audio"), *room)
    assert scraped[("avatar_streaming_peers", room)] == 1
    assert scraped[("avatar_streaming_video_frames_total", room)] > 10
    assert scraped[("avatar_streaming_packets_sent_total", video)] > 10
    assert scraped[("avatar_streaming_bytes_sent_total", video)] > 1_000
    assert scraped[("avatar_streaming_packets_sent_total", audio)] > 10
    assert scraped[("avatar_streaming_plis_received_total", video)] >= 1, "the PLI we sent"
    assert scraped[("avatar_streaming_firs_received_total", video)] == 0
    assert scraped[("avatar_streaming_keyframe_requests_received_total", video)] >= 1
    assert scraped[("avatar_streaming_video_encode_seconds_total", room)] > 0
    assert scraped[("avatar_streaming_video_push_latency_ms_count", room)] == \
        scraped[("avatar_streaming_video_frames_total", room)]
    sent = scraped[("avatar_streaming_video_push_to_sent_ms_count", room)]
    assert sent > 10, "frames sent are timed from their push"
    assert 0 < scraped[("avatar_streaming_video_push_to_sent_ms_sum", room)] / sent < 500
    assert status["peerCount"] == 1 and status["metrics"]["videoFrames"] > 10
    await client.close()


async def test_frame_sent_times_each_frame_from_its_push_to_its_last_packet(
        make_system: MakeSystem) -> None:
    system = await make_system()
    sent: list[FrameSentEvent] = []
    client = RtcClient(ws_url(system))
    async with feeding_frames(system, quadrants()):
        await client.connect()
        await asyncio.wait_for((await client.track("video")).recv(), 10)
        system.bridge.on("frame-sent", sent.append)
        await wait_until(lambda: len(sent) >= 30)
        system.bridge.off("frame-sent", sent.append)
    await client.close()
    fresh = [e for e in sent if not e.repeat]
    assert len(fresh) >= 25, "at 30 fps nearly every frame is a new push"
    for event in fresh:
        assert event.timestamp is not None and event.pushed_at is not None
        assert event.timestamp <= event.pushed_at <= event.encode_started_at <= event.sent_at
        assert event.sent_at - event.pushed_at < 500
        assert event.packets >= 1 and event.payload_bytes > 0
    rtp = [e.rtp_timestamp for e in sent]
    assert rtp == sorted(rtp) and len(set(rtp)) == len(rtp), "RTP time only goes forward"


async def test_a_session_logs_one_line_per_event_with_its_peer_id(
        make_system: MakeSystem, caplog: pytest.LogCaptureFixture) -> None:
    system = await make_system()
    caplog.set_level(logging.INFO, logger="avatar_streaming")
    await system.bridge.stop()
    await system.bridge.start()
    client = RtcClient(ws_url(system), mic=ToneTrack(440.0))
    async with feeding_frames(system, quadrants()):
        await client.connect()
        await asyncio.wait_for((await client.track("video")).recv(), 10)
        await wait_until(lambda: system.get_status()["peerCount"] == 1)
        await client.send({"type": "no-such-message"})
        await client.expect("error")
        await system.bridge.interrupt()
        peer_id = system.server.peers[0].id
        await client.close()
        await wait_until(lambda: system.get_status()["peerCount"] == 0)
    ours = [r for r in caplog.records if r.name.startswith("avatar_streaming")]
    lines = [r.getMessage() for r in ours]
    assert all("\n" not in line for line in lines), lines
    assert not [r for r in ours if r.levelno >= logging.WARNING], \
        "a normal session logs nothing at WARNING: a user can filter it out with INFO"
    about_peer = [line for line in lines if peer_id in line]
    for event in ("signaling open", "answered its offer", "receiving its microphone",
                  "connected", "refused a message: ", "closed (closed)"):
        assert sum(event in line for line in about_peer) == 1, (event, about_peer)
    assert lines[:2] == ["bridge stopped: pushes are ignored",
                         "bridge started: pushes are accepted"]
    assert any(line.startswith("interrupted: ") for line in lines), lines
