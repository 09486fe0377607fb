"""The Janus VideoRoom plugin's requests and replies (Janus 1.x multistream API). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..codecs import codec
from ..config import JanusConfig

PLUGIN = "janus.plugin.videoroom"
ROOM_EXISTS = 427
"""VideoRoom's error code for creating a room that exists (someone was quicker)."""


@dataclass(frozen=True)
class Feed:
    """Another publisher in the room, with the mids of the audio streams it publishes."""

    id: int
    display: str
    audio_mids: tuple[str, ...]

    @property
    def user_id(self) -> str:
        """The ``peer_id`` its audio carries in "incoming-audio": ``janus-<feed id>``."""
        return f"janus-{self.id}"


def _with_access(config: JanusConfig, body: dict[str, Any]) -> dict[str, Any]:
    if config.pin is not None:
        body["pin"] = config.pin
    return body


def exists(config: JanusConfig) -> dict[str, Any]:
    return {"request": "exists", "room": config.room}


def create(config: JanusConfig, video_codec: str, audio_codec: str) -> dict[str, Any]:
    """A room taking our codecs, with room for users publishing their microphones."""
    body: dict[str, Any] = {
        "request": "create", "room": config.room, "permanent": False,
        "description": "avatar-streaming", "publishers": 100,
        "videocodec": codec(video_codec).janus_name,
        "audiocodec": codec(audio_codec).janus_name}
    if config.secret is not None:
        body["secret"] = config.secret
    return _with_access(config, body)


def join_publisher(config: JanusConfig) -> dict[str, Any]:
    return _with_access(config, {"request": "join", "ptype": "publisher", "room": config.room,
                                 "display": config.display})


def publish(video_codec: str, audio_codec: str) -> dict[str, Any]:
    return {"request": "publish", "videocodec": codec(video_codec).janus_name,
            "audiocodec": codec(audio_codec).janus_name}


def join_subscriber(config: JanusConfig, feed: Feed, private_id: int | None) -> dict[str, Any]:
    """Subscribe to the audio streams of ``feed`` only."""
    body: dict[str, Any] = {
        "request": "join", "ptype": "subscriber", "room": config.room,
        "streams": [{"feed": feed.id, "mid": mid} for mid in feed.audio_mids]}
    if private_id is not None:
        body["private_id"] = private_id
    return _with_access(config, body)


START = {"request": "start"}
LEAVE = {"request": "leave"}


def audio_feeds(data: dict[str, Any], own_display: str) -> list[Feed]:
    """The publishers listed in a ``joined`` or ``event`` reply that publish audio.

    Publishers named ``own_display`` are taken for ourselves (a previous run of ours that
    Janus has not timed out yet) and left out: we would hear our own voice.
    """
    feeds = []
    for entry in data.get("publishers") or ():
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), int):
            continue
        display = str(entry.get("display") or "")
        mids = tuple(str(s["mid"]) for s in entry.get("streams") or ()
                     if isinstance(s, dict) and s.get("type") == "audio"
                     and not s.get("disabled") and "mid" in s)
        if mids and display != own_display:
            feeds.append(Feed(entry["id"], display, mids))
    return feeds


def gone_feed(data: dict[str, Any]) -> int | None:
    """The publisher an ``event`` says stopped publishing or left, if any."""
    for key in ("unpublished", "leaving"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
