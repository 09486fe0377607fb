"""The shipped page in Janus mode, in Chromium: it learns the room from our server, watches
the avatar through Janus, and publishes its microphone into the room, which the system
hears as "incoming-audio" with the page's id; after a Janus restart it comes back by itself.

Janus refuses loopback for media, so janus_page_scenario.py runs Janus, our system and
Chromium in a network namespace of their own (``unshare -n``, as root); it stops what it
starts, and prints what it measured as JSON.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import record_figures
from tests.integration import janus_server

FPS = 30


@pytest.fixture(scope="module")
def scenario() -> dict[str, Any]:
    if shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    result = janus_server.run_scenario("tests.browser.janus_page_scenario")
    record_figures("janus-page", {"video": result["video"], "audioHz": result["audio_hz"],
                                  "micChunks": result["mic"]["chunks"],
                                  "micRms": result["mic"]["rms"],
                                  "reconnectedAfterS": result["restart"]["reconnected_after_s"]})
    return result


def test_the_page_learns_the_room_from_the_server_and_goes_through_janus(
        scenario: dict[str, Any]) -> None:
    client = scenario["client"]
    assert client["mode"] == "janus" and client["errors"] == [], client
    assert client["janus"] == {"url": janus_server.URL, "room": 4343, "watch": "avatar",
                               "name": "browser"}
    assert client["pcIsViewers"] and client["hasRemoteStream"] and client["hasLocalStream"]
    assert scenario["direct_peers"] == 0, "the page must not also connect to us directly"
    assert scenario["encoded_once"] == {"video_viewers": 1, "audio_viewers": 1}


def test_the_page_shows_the_avatar_through_janus_at_full_size_and_rate(
        scenario: dict[str, Any]) -> None:
    video = scenario["video"]
    assert (video["width"], video["height"]) == (512, 512), video
    assert video["fps"] >= FPS * 0.85, video
    assert scenario["page_stats"]["width"] == 512, scenario["page_stats"]


def test_the_page_plays_the_avatars_voice(scenario: dict[str, Any]) -> None:
    audio = scenario["audio"]
    assert audio["packets"] >= 150 and audio["energy"] > 0.01, audio
    assert abs(scenario["audio_hz"] - 660) < 5, scenario["audio_hz"]


def test_the_pages_microphone_reaches_the_system_with_the_pages_id(
        scenario: dict[str, Any]) -> None:
    mic = scenario["mic"]
    assert mic["page_id"].startswith("janus-") and mic["page_id"] != f"janus-{scenario['feed_id']}"
    assert mic["ids"] == [mic["page_id"]], mic
    assert mic["chunks"] >= 20 and mic["rms"] > 1000, mic
    assert abs(mic["hz"] - 440) < 5, mic
    assert scenario["status_users"] == {mic["page_id"]: "browser"}
    assert scenario["page_stats"]["micPacketsSent"] > 0, scenario["page_stats"]


def test_after_a_janus_restart_the_page_comes_back_by_itself(scenario: dict[str, Any]) -> None:
    restart = scenario["restart"]
    assert restart["reconnected_after_s"] < 10, restart
    assert restart["connect_count"] == 2 and restart["feed_id"] != scenario["feed_id"], restart
    video = restart["video"]
    assert (video["width"], video["height"]) == (512, 512) and video["fps"] >= FPS * 0.85, video
    mic = restart["mic"]
    assert mic["page_id"] != scenario["mic"]["page_id"], "a new publisher id after the restart"
    assert mic["chunks"] >= 10 and mic["rms"] > 1000 and abs(mic["hz"] - 440) < 5, mic
