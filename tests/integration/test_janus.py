"""SFU mode against a real Janus: publish once, three viewers through Janus, a user's
microphone back as "incoming-audio", and a Janus restart.

Janus refuses loopback for media, so janus_scenario.py runs in a network namespace of
its own (``unshare -n``, as root) with a private address on an interface there; it
starts Janus and stops it by PID, and prints what it measured as JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration import janus_server
from tests.signals import QUADRANT_COLOURS, colours_match

FPS = 30


@pytest.fixture(scope="module")
def scenario() -> dict[str, Any]:
    result = janus_server.run_scenario("tests.integration.janus_scenario")
    print(json.dumps(result, indent=1))
    return result


def test_three_viewers_through_janus_get_the_stream(scenario: dict[str, Any]) -> None:
    viewers = scenario["viewers"]
    assert len(viewers) == 3
    for viewer in viewers:
        assert viewer["sizes"] == ["512x512"], viewer
        assert viewer["fps"] >= FPS * 0.85, viewer
        assert viewer["audio_s"] >= 3.0, viewer
        assert viewer["audio_rms"] > 1000, viewer
        assert abs(viewer["audio_hz"] - 660) < 5, viewer


def test_published_once_whatever_the_viewers(scenario: dict[str, Any]) -> None:
    # three viewers in the room, one connection of ours to Janus for each stream
    assert scenario["encoded_once"] == {"video_viewers": 1, "audio_viewers": 1}


def test_a_users_microphone_in_the_room_comes_back_with_their_id(
        scenario: dict[str, Any]) -> None:
    mic = scenario["mic"]
    assert mic["ids"] == [mic["expected_id"]]
    assert mic["chunks"] >= 10 and mic["rms"] > 1000, mic
    assert abs(mic["hz"] - 440) < 5, mic
    assert scenario["status_users"] == {mic["expected_id"]: "user-mic"}


def test_after_a_janus_restart_we_publish_again(scenario: dict[str, Any]) -> None:
    restart = scenario["restart"]
    assert restart["publications"] == 2
    assert restart["republished_after_s"] < 10
    viewer = restart["viewer"]
    assert viewer["sizes"] == ["512x512"] and viewer["fps"] >= FPS * 0.85, viewer
    mic = restart["mic"]
    assert mic["expected_id"] in mic["ids"] and mic["rms"] > 1000, mic


def test_stop_leaves_the_room_and_no_task(scenario: dict[str, Any]) -> None:
    assert scenario["participants_after_stop"] == []
    assert scenario["tasks_left"] == []


def test_a_room_publishes_into_its_own_janus_room_and_hears_its_own_users(
        scenario: dict[str, Any]) -> None:
    room = scenario["room"]
    assert room["janus_room"] == room["expected_janus_room"] != 4242, room
    viewer = room["viewer"]
    assert viewer["sizes"] == ["512x512"] and viewer["fps"] >= FPS * 0.85, viewer
    assert colours_match([tuple(c) for c in viewer["colours"]],
                         tuple(reversed(QUADRANT_COLOURS))), "alice's picture, not default's"
    assert abs(viewer["audio_hz"] - 550) < 5, "alice's voice"
    mic = room["mic"]
    assert mic["ids"] == [mic["expected_id"]] and abs(mic["hz"] - 330) < 5, mic
    assert room["default_room_heard"] == [], "alice's user is not heard in the default room"
