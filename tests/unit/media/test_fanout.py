from __future__ import annotations

from avatar_streaming.media.fanout import Broadcast, Payload
from tests.unit.media.viewers import Recorder


class Broken:
    def send_frame(self, payloads: list[Payload], send_time_ntp: int, media_ntp: int) -> None:
        raise RuntimeError("socket gone")


def test_payloads_are_numbered_once_and_every_viewer_gets_the_same_objects() -> None:
    broadcast = Broadcast("video", 90000)
    a, b = Recorder(), Recorder()
    broadcast.join(a)
    broadcast.send([b"k1", b"k2"], 3000, 0)
    broadcast.join(b)
    broadcast.send([b"d1"], 6000, 0)
    assert [p.index for p in a.frames[0]] == [0, 1] and a.frames[1][0].index == 2
    assert b.frames == [a.frames[1]] and b.frames[0][0] is a.frames[1][0]
    assert [p.marker for p in a.frames[0]] == [False, True], "video marks a frame's last packet"


def test_audio_payloads_carry_no_marker() -> None:
    broadcast = Broadcast("audio", 48000)
    viewer = Recorder()
    broadcast.join(viewer)
    broadcast.send([b"opus"], 960, 0)
    assert viewer.frames[0][0] == Payload(0, b"opus", False, 960)


def test_history_serves_recent_payloads_only() -> None:
    broadcast = Broadcast("video", 90000, history=4)
    for i in range(6):
        broadcast.send([bytes([i])], i * 3000, 0)
    assert broadcast.lookup(5) == Payload(5, b"\x05", True, 15000)
    assert broadcast.lookup(2) == Payload(2, b"\x02", True, 6000)
    assert broadcast.lookup(1) is None, "overwritten by index 5"
    assert broadcast.lookup(6) is None, "not sent yet"


def test_a_failing_viewer_is_dropped_and_the_others_keep_receiving() -> None:
    broadcast = Broadcast("video", 90000)
    good = Recorder()
    broadcast.join(Broken())
    broadcast.join(good)
    broadcast.send([b"x"], 0, 0)
    broadcast.send([b"y"], 3000, 0)
    assert len(good.frames) == 2 and broadcast.viewer_count == 1


def test_joining_asks_for_a_keyframe() -> None:
    broadcast = Broadcast("video", 90000)
    asked: list[bool] = []
    broadcast.on_join = lambda: asked.append(True)
    broadcast.join(Recorder())
    assert asked == [True]
