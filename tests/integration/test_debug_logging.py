"""``webrtc.debug`` logs each signaling message and each frame sent; off, none of it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.conftest import MakeSystem, wait_until, ws_url
from tests.feeds import feeding_frames
from tests.integration.client import RtcClient
from tests.signals import quadrants


@pytest.mark.parametrize("debug", [True, False])
async def test_webrtc_debug_logs_messages_and_frames(make_system: MakeSystem,
                                                     caplog: pytest.LogCaptureFixture,
                                                     debug: bool) -> None:
    caplog.set_level(logging.DEBUG, logger="avatar_streaming")
    system = await make_system({"debug": debug})
    client = RtcClient(ws_url(system))
    async with feeding_frames(system, quadrants()):
        try:
            await client.connect()
            track = await client.track("video")
            for _ in range(5):
                await asyncio.wait_for(track.recv(), 10)
            if debug:
                await wait_until(lambda: "sent frame" in caplog.text)
        finally:
            await client.close()
    messages = [r.getMessage() for r in caplog.records]
    sent = [m for m in messages if "sent frame" in m]
    incoming = [m for m in messages if ': -> {"type":"offer"' in m or ': -> {"type": "offer"' in m]
    outgoing = [m for m in messages if ': <- {"type":"answer"' in m]
    if debug:
        assert sent and "to 1 viewers" in sent[-1] and "keyframe" in sent[0]
        assert incoming and outgoing
    else:
        assert not sent and not incoming and not outgoing
