"""Rooms in Chromium: a page joins the room its URL names; on demand, each visitor gets one."""

from __future__ import annotations

from avatar_streaming import Room
from tests.browser.conftest import LaunchBrowser, open_page, wait_state
from tests.browser.probes import VIDEO_RATE
from tests.conftest import MakeSystem, page_url, wait_until
from tests.feeds import feeding_frames
from tests.signals import quadrants


async def test_the_page_joins_the_room_its_url_names_and_shows_it(
        make_system: MakeSystem, launch_browser: LaunchBrowser) -> None:
    system = await make_system()
    room = await system.open_room("alice")
    browser = await launch_browser()
    async with feeding_frames(room, quadrants()):
        page = await open_page(browser, page_url(system) + "?room=alice")
        await wait_state(page, "connected")
        rate = await page.evaluate(VIDEO_RATE, 2)
        assert rate["fps"] >= 20 and (rate["width"], rate["height"]) == (512, 512)
        assert await page.text_content("#room-name") == "alice"
        assert [p.room for p in system.server.peers] == ["alice"]
        assert room.peer_count == 1 and system.rooms["default"].peer_count == 0


async def test_on_demand_every_visitor_gets_a_room_of_their_own_kept_in_the_url(
        make_system: MakeSystem, launch_browser: LaunchBrowser) -> None:
    system = await make_system({"rooms": {"onDemand": True}})
    opened: list[Room] = []
    system.server.on("room-opened", opened.append)
    browser = await launch_browser()
    first = await open_page(browser, page_url(system))
    second = await open_page(browser, page_url(system))
    await wait_state(first, "connected")
    await wait_state(second, "connected")
    names = [await p.evaluate("new URLSearchParams(location.search).get('room')")
             for p in (first, second)]
    assert names[0] and names[1] and names[0] != names[1], names
    assert [await p.text_content("#room-name") for p in (first, second)] == names
    assert sorted(r.name for r in opened) == sorted(names)
    await first.reload()
    await wait_state(first, "connected")
    assert await first.evaluate("new URLSearchParams(location.search).get('room')") == names[0]
    await wait_until(lambda: system.rooms[names[0]].peer_count == 1)
    assert len(opened) == 2, "a reload keeps its conversation"
    shared = await open_page(browser, page_url(system) + f"?room={names[1]}")
    await wait_state(shared, "connected")
    await wait_until(lambda: system.rooms[names[1]].peer_count == 2)
