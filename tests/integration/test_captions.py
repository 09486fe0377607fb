"""``bridge.send_caption``: to every page of its room and no other, and bad captions
refused with what was expected."""

from __future__ import annotations

import asyncio

import pytest

from avatar_streaming import CaptionError
from tests.conftest import MakeSystem, ws_url
from tests.integration.client import SignalingClient


async def test_a_caption_goes_to_every_page_of_its_room_only(make_system: MakeSystem) -> None:
    system = await make_system(start=False)  # captions are not media: no start needed
    room = await system.open_room("alice")
    here = [SignalingClient(f"{ws_url(system)}?room=alice") for _ in range(2)]
    elsewhere = SignalingClient(ws_url(system))
    clients = [*here, elsewhere]
    try:
        for client in clients:
            await client.open()
            await client.expect("config")
        heard = []
        room.bridge.on("caption", heard.append)
        assert await room.bridge.send_caption("Hello, Alice") == 2
        for client in here:
            body = await client.expect("caption")
            assert body["data"] == {"role": "avatar", "text": "Hello, Alice", "final": True,
                                    "peerId": "avatar"}
        assert [c.text for c in heard] == ["Hello, Alice"]
        assert await system.bridge.send_caption("…", "user", False, "someone") == 1
        assert (await elsewhere.expect("caption"))["data"]["peerId"] == "someone"
        for client in here:  # its error comes after anything the server sent before
            await client.send({"type": "sentinel"})
            reply = await client.expect("error")
            assert "'sentinel'" in reply["error"], f"room alice got the default room's: {reply}"
    finally:
        await asyncio.gather(*(c.close() for c in clients))


@pytest.mark.parametrize(("args", "message"), [
    ((42,), "expected text, a str of at most 2000 characters, got int"),
    (("x" * 2001,), "got 2001 characters"),
    (("hi", "narrator"), "expected role 'user' or 'avatar', got 'narrator'"),
])
async def test_a_bad_caption_is_refused(make_system: MakeSystem, args: tuple[object, ...],
                                        message: str) -> None:
    system = await make_system()
    client = SignalingClient(ws_url(system))
    try:
        await client.open()
        await client.expect("config")
        with pytest.raises(CaptionError, match=message):
            await system.bridge.send_caption(*args)  # type: ignore[arg-type]
        assert await system.bridge.send_caption("fine") == 1
        assert (await client.expect("caption"))["data"]["text"] == "fine", "nothing else sent"
    finally:
        await client.close()
