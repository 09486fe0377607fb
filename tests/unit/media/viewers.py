"""A viewer of a Broadcast that keeps what it is sent, for the media unit tests."""

from __future__ import annotations

from avatar_streaming.media.fanout import Payload


class Recorder:
    def __init__(self) -> None:
        self.frames: list[list[Payload]] = []

    def send_frame(self, payloads: list[Payload], send_time_ntp: int, media_ntp: int) -> None:
        self.frames.append(payloads)
