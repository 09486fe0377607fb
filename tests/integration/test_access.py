"""Only who belongs gets in: the token and the allowed origins, checked before the upgrade."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from tests.conftest import MakeSystem, ws_url
from tests.integration.client import SignalingClient

TOKEN = "s3cret-token-for-tests"


async def handshake_status(url: str, headers: dict[str, str] | None = None) -> int:
    """101 if the WebSocket opened, else the HTTP status that refused it."""
    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(url, headers=headers or {})
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
        await ws.close()
        return 101


async def test_a_missing_or_wrong_token_gets_401_before_the_upgrade(
        make_system: MakeSystem, caplog: pytest.LogCaptureFixture) -> None:
    system = await make_system({"authToken": TOKEN})
    url = ws_url(system)
    with caplog.at_level(logging.DEBUG):
        assert await handshake_status(url) == 401
        assert await handshake_status(url + "?token=wrong") == 401
        assert await handshake_status(url, {"Authorization": "Bearer wrong"}) == 401
        assert await handshake_status(url + f"?token={TOKEN}") == 101
        assert await handshake_status(url, {"Authorization": f"Bearer {TOKEN}"}) == 101
        client = SignalingClient(url + f"?token={TOKEN}")
        await client.open()
        assert (await client.expect("config"))["type"] == "config"
        await client.close()
    assert TOKEN not in caplog.text, "the token must never be logged"
    async with aiohttp.ClientSession() as session:
        status = f"http://127.0.0.1:{system.server.port}/status"
        async with session.get(status) as response:
            assert response.status == 401
        async with session.get(status, headers={"Authorization": f"Bearer {TOKEN}"}) as ok:
            assert ok.status == 200 and "peerCount" in await ok.json()


async def test_origins_not_allowed_get_403(make_system: MakeSystem) -> None:
    system = await make_system({"allowedOrigins": ["https://avatar.example"]})
    url = ws_url(system)
    assert await handshake_status(url, {"Origin": "https://evil.example"}) == 403
    assert await handshake_status(url, {"Origin": "https://avatar.example"}) == 101
    assert await handshake_status(url) == 101, "no Origin: not a browser page"
