"""/metrics, /status and /healthz, scraped while a real viewer watches."""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import MakeSystem, wait_until, ws_url
from tests.feeds import feeding_frames, feeding_tone
from tests.integration.client import RtcClient
from tests.integration.test_fanout import video_receiver
from tests.signals import quadrants


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
        await asyncio.sleep(0.5)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/metrics") as response:
                assert response.status == 200
                scraped = samples(await response.text())
            async with session.get(f"{base}/status") as response:
                status = await response.json()
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 200
    video, audio = (("kind", "video"),), (("kind", "audio"),)
    assert scraped[("avatar_streaming_peers", ())] == 1
    assert scraped[("avatar_streaming_video_frames_total", ())] > 10
    assert scraped[("avatar_streaming_packets_sent_total", video)] > 10
    assert scraped[("avatar_streaming_bytes_sent_total", video)] > 1_000
    assert scraped[("avatar_streaming_packets_sent_total", audio)] > 10
    assert scraped[("avatar_streaming_keyframe_requests_received_total", video)] >= 1
    assert scraped[("avatar_streaming_video_encode_seconds_total", ())] > 0
    assert scraped[("avatar_streaming_video_push_latency_ms_count", ())] == \
        scraped[("avatar_streaming_video_frames_total", ())]
    assert status["peerCount"] == 1 and status["metrics"]["videoFrames"] > 10
    await client.close()
