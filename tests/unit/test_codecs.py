"""codecs.py's table is the one every other place reads."""

from __future__ import annotations

from typing import get_args

import pytest

from avatar_streaming import ConfigError, WebRTCConfig
from avatar_streaming.codecs import AUDIO_CODECS, CODECS, VIDEO_CLOCK_RATE, VIDEO_CODECS
from avatar_streaming.config import AudioCodec, VideoCodec
from avatar_streaming.sfu import videoroom


def test_the_configurations_types_name_the_tables_codecs() -> None:
    assert get_args(VideoCodec) == VIDEO_CODECS == ("VP8", "VP9", "H264")
    assert get_args(AudioCodec) == AUDIO_CODECS == ("opus", "pcmu", "pcma")


def test_each_codec_is_of_its_kind() -> None:
    for codec in CODECS.values():
        assert codec.mime_type.startswith(f"{codec.kind}/"), codec
        assert codec.mime_type.split("/")[1].lower() == codec.name.lower()
        if codec.kind == "video":
            assert codec.clock_rate == VIDEO_CLOCK_RATE and codec.rtx_payload_type is not None
    payload_types = [c.payload_type for c in CODECS.values() if c.kind == "video"]
    payload_types += [c.rtx_payload_type for c in CODECS.values() if c.rtx_payload_type]
    assert len(payload_types) == len(set(payload_types)), "video payload types collide"


def test_a_codec_outside_the_table_is_refused_with_the_tables_names() -> None:
    with pytest.raises(ConfigError, match=r"webrtc\.videoCodec.*VP8, VP9, H264.*'AV1'"):
        WebRTCConfig(video_codec="AV1")  # type: ignore[arg-type]


def test_janus_is_asked_for_the_tables_names() -> None:
    from avatar_streaming.config import JanusConfig

    create = videoroom.create(JanusConfig(url="http://127.0.0.1:1/janus", room=7), "VP9",
                              "pcmu")
    assert (create["videocodec"], create["audiocodec"]) == ("vp9", "pcmu")
    publish = videoroom.publish("H264", "opus")
    assert (publish["videocodec"], publish["audiocodec"]) == ("h264", "opus")
