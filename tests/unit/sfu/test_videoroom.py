from __future__ import annotations

from avatar_streaming.config import JanusConfig
from avatar_streaming.sfu import videoroom
from avatar_streaming.sfu.videoroom import Feed

ROOM = JanusConfig(url="http://j/janus", room=1234, secret="admin", pin="1111", display="Ava")


def test_requests_carry_the_room_its_pin_and_our_codecs() -> None:
    assert videoroom.create(ROOM, "VP8", "opus") == {
        "request": "create", "room": 1234, "permanent": False,
        "description": "avatar-streaming", "publishers": 100, "videocodec": "vp8",
        "audiocodec": "opus", "secret": "admin", "pin": "1111"}
    assert videoroom.join_publisher(ROOM) == {
        "request": "join", "ptype": "publisher", "room": 1234, "display": "Ava",
        "pin": "1111"}
    assert videoroom.publish("H264", "pcmu") == {
        "request": "publish", "videocodec": "h264", "audiocodec": "pcmu"}
    open_room = JanusConfig(url="http://j/janus", room=5)
    assert "pin" not in videoroom.join_publisher(open_room)
    assert "secret" not in videoroom.create(open_room, "VP9", "pcma")


def test_subscribing_asks_for_the_audio_streams_only() -> None:
    feed = Feed(77, "alice", ("0", "2"))
    assert videoroom.join_subscriber(ROOM, feed, private_id=9) == {
        "request": "join", "ptype": "subscriber", "room": 1234, "private_id": 9,
        "pin": "1111", "streams": [{"feed": 77, "mid": "0"}, {"feed": 77, "mid": "2"}]}
    assert feed.user_id == "janus-77"


def test_audio_feeds_are_the_publishers_that_send_audio_but_us() -> None:
    data = {"videoroom": "event", "publishers": [
        {"id": 1, "display": "alice", "streams": [
            {"type": "audio", "mindex": 0, "mid": "0", "codec": "opus"},
            {"type": "video", "mindex": 1, "mid": "1", "codec": "vp8"}]},
        {"id": 2, "display": "camera only", "streams": [{"type": "video", "mid": "0"}]},
        {"id": 3, "display": "muted", "streams": [
            {"type": "audio", "mid": "0", "disabled": True}]},
        {"id": 4, "display": "Ava", "streams": [{"type": "audio", "mid": "0"}]},
        {"id": 5, "streams": [{"type": "audio", "mid": "a"}]},
        {"id": "not-an-int", "streams": [{"type": "audio", "mid": "0"}]},
        "garbage",
    ]}
    assert videoroom.audio_feeds(data, own_display="Ava") == [
        Feed(1, "alice", ("0",)), Feed(5, "", ("a",))]
    assert videoroom.audio_feeds({"videoroom": "event"}, "Ava") == []


def test_gone_feed() -> None:
    assert videoroom.gone_feed({"videoroom": "event", "unpublished": 12}) == 12
    assert videoroom.gone_feed({"videoroom": "event", "leaving": 13}) == 13
    # what Janus tells a publisher about itself
    assert videoroom.gone_feed({"videoroom": "event", "unpublished": "ok"}) is None
    assert videoroom.gone_feed({"videoroom": "event", "leaving": "ok"}) is None
    assert videoroom.gone_feed({"videoroom": "event", "configured": "ok"}) is None
