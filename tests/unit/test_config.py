from __future__ import annotations

import pytest

from avatar_streaming import ConfigError, MediaConfig, StreamingSystemConfig, WebRTCConfig
from avatar_streaming.config import GOOGLE_STUN, IceServer, JanusConfig, load_config


def test_defaults_are_the_contracts() -> None:
    config = load_config({"webrtc": {"signalingPort": 8081}})
    w, m = config.webrtc, config.media
    assert (w.signaling_port, w.max_clients, w.video_codec, w.audio_codec, w.debug) == (
        8081, 100, "VP8", "opus", False)
    assert w.ice_servers == GOOGLE_STUN and "stun.l.google.com" in w.ice_servers[0].urls[0]
    assert (m.video_fps, m.video_width, m.video_height) == (30, 512, 512)
    assert (m.audio_sample_rate, m.audio_channels, m.incoming_audio_chunk_ms) == (16000, 1, 100)
    assert (w.signaling_host, w.ice_host_addresses, w.ping_interval_s) == ("0.0.0.0", None, 30.0)
    assert (m.video_bitrate_bps, m.audio_bitrate_bps, m.audio_lead_ms) == (1_000_000, 32_000, 20)


def test_camel_case_dict_maps_onto_the_dataclasses() -> None:
    config = load_config({
        "webrtc": {"signalingPort": 0, "signalingHost": "127.0.0.1", "maxClients": 10,
                   "videoCodec": "H264", "audioCodec": "pcma", "debug": True,
                   "iceServers": [{"urls": ["turn:127.0.0.1:3478"], "username": "u",
                                   "credential": "p"}],
                   "iceHostAddresses": ["127.0.0.1"], "pingInterval": 5},
        "media": {"videoFps": 25, "videoWidth": 640, "videoHeight": 480,
                  "audioSampleRate": 24000, "audioChannels": 2, "debug": True,
                  "incomingAudioChunkMs": 20, "audioQueueSeconds": 5,
                  "audioBitrate": 24000},
    })
    assert config == StreamingSystemConfig(
        webrtc=WebRTCConfig(signaling_port=0, signaling_host="127.0.0.1", max_clients=10,
                            video_codec="H264", audio_codec="pcma", debug=True,
                            ice_servers=(IceServer(("turn:127.0.0.1:3478",), "u", "p"),),
                            ice_host_addresses=("127.0.0.1",), ping_interval_s=5),
        media=MediaConfig(video_fps=25, video_width=640, video_height=480,
                          audio_sample_rate=24000, audio_channels=2, debug=True,
                          incoming_audio_chunk_ms=20, audio_queue_s=5,
                          audio_bitrate_bps=24000),
    )


def test_dataclasses_are_accepted_as_they_are() -> None:
    config = StreamingSystemConfig(webrtc=WebRTCConfig(signaling_port=9000))
    assert load_config(config) is config
    with pytest.raises(AttributeError):
        config.webrtc.signaling_port = 1  # type: ignore[misc]


@pytest.mark.parametrize(("raw", "names"), [
    ({"webrtc": {"signalingport": 1}}, ["webrtc", "signalingport", "signalingPort"]),
    ({"media": {"fps": 30}}, ["media", "fps", "videoFps"]),
    ({"extra": {}}, ["extra", "webrtc"]),
    ({"webrtc": {"signalingPort": 70000}}, ["signalingPort", "65535", "70000"]),
    ({"webrtc": {"signalingPort": "8081"}}, ["signalingPort", "integer", "'8081'"]),
    ({"webrtc": {"maxClients": True}}, ["maxClients", "integer", "True"]),
    ({"webrtc": {"maxClients": 0}}, ["maxClients", "0"]),
    ({"webrtc": {"videoCodec": "AV1"}}, ["videoCodec", "VP8, VP9, H264", "AV1"]),
    ({"webrtc": {"audioCodec": "OPUS"}}, ["audioCodec", "opus", "OPUS"]),
    ({"webrtc": {"iceServers": "stun:x"}}, ["iceServers", "list"]),
    ({"webrtc": {"iceServers": [{"urls": "http://x"}]}}, ["iceServers[0].urls", "stun:"]),
    ({"webrtc": {"iceServers": [{"url": "stun:x"}]}}, ["iceServers[0]", "url", "urls"]),
    ({"webrtc": {"iceHostAddresses": ["localhost"]}}, ["iceHostAddresses", "localhost"]),
    ({"webrtc": {"iceHostAddresses": []}}, ["iceHostAddresses", "non-empty"]),
    ({"webrtc": {"pingInterval": 0}}, ["pingInterval", "0"]),
    ({"webrtc": {"debug": "yes"}}, ["debug", "true or false"]),
    ({"media": {"videoFps": 0}}, ["videoFps", "0"]),
    ({"media": {"videoWidth": 511}}, ["videoWidth", "even", "511"]),
    ({"media": {"audioSampleRate": 100}}, ["audioSampleRate", "100"]),
    ({"media": {"audioChannels": 6}}, ["audioChannels", "6"]),
    ({"media": {"incomingAudioChunkMs": 1.5}}, ["incomingAudioChunkMs", "1.5"]),
    ({"media": {"audioBitrate": 1000}}, ["audioBitrate", "6000", "1000"]),
    ({"media": {"audioLeadMs": -5}}, ["audioLeadMs", "-5"]),
    ({"webrtc": []}, ["webrtc", "object"]),
    ({"webrtc": {"sfu": "janus"}}, ["webrtc.sfu", "object", "'janus'"]),
    ({"webrtc": {"sfu": {"type": "livekit", "url": "http://j/janus", "room": 1}}},
     ["webrtc.sfu.type", "janus", "'livekit'"]),
    ({"webrtc": {"sfu": {"type": "janus", "room": 1}}}, ["webrtc.sfu.url", "nothing"]),
    ({"webrtc": {"sfu": {"type": "janus", "url": "ws://j:8188", "room": 1}}},
     ["webrtc.sfu.url", "http://", "'ws://j:8188'"]),
    ({"webrtc": {"sfu": {"type": "janus", "url": "http://j/janus", "room": "1234"}}},
     ["webrtc.sfu.room", "integer", "'1234'"]),
    ({"webrtc": {"sfu": {"type": "janus", "url": "http://j/janus", "room": 0}}},
     ["webrtc.sfu.room", "0"]),
    ({"webrtc": {"sfu": {"type": "janus", "url": "http://j/janus", "room": 1, "pin": 12}}},
     ["webrtc.sfu.pin", "string", "12"]),
    ({"webrtc": {"sfu": {"type": "janus", "url": "http://j/janus", "room": 1, "rooom": 2}}},
     ["webrtc.sfu", "rooom", "room"]),
    ([], ["config", "dict"]),
])
def test_bad_keys_and_values_name_the_key_and_what_was_expected(
        raw: object, names: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        load_config(raw)  # type: ignore[arg-type]
    assert isinstance(info.value, ConfigError)
    for name in names:
        assert name in str(info.value)


def test_access_settings() -> None:
    config = load_config({"webrtc": {"authToken": "t", "allowedOrigins": ["https://a.example"]}})
    assert config.webrtc.auth_token == "t"
    assert config.webrtc.allowed_origins == ("https://a.example",)
    with pytest.raises(ConfigError, match="allowedOrigins"):
        load_config({"webrtc": {"allowedOrigins": ["a.example"]}})
    with pytest.raises(ConfigError, match="authToken"):
        load_config({"webrtc": {"authToken": ""}})


def test_sfu_settings() -> None:
    assert load_config({}).webrtc.sfu is None
    config = load_config({"webrtc": {"sfu": {
        "type": "janus", "url": "http://10.0.0.5:8088/janus", "room": 1234, "secret": "s",
        "pin": "p", "token": "t", "apiSecret": "a", "display": "Ava"}}})
    assert config.webrtc.sfu == JanusConfig(
        url="http://10.0.0.5:8088/janus", room=1234, secret="s", pin="p", token="t",
        api_secret="a", display="Ava")
    minimal = load_config({"webrtc": {"sfu": {"type": "janus", "url": "https://j/janus",
                                              "room": 7}}}).webrtc.sfu
    assert minimal == JanusConfig(url="https://j/janus", room=7)
    assert (minimal.secret, minimal.pin, minimal.token, minimal.display) == (
        None, None, None, "avatar")


def test_rooms_and_token_secret() -> None:
    default = load_config({}).webrtc
    assert (default.rooms.on_demand, default.rooms.max_rooms, default.rooms.idle_close_s) == (
        False, 100, 30.0)
    assert default.token_secret is None
    webrtc = load_config({"webrtc": {"rooms": {"onDemand": True, "maxRooms": 5,
                                               "idleCloseS": 2},
                                     "tokenSecret": "k" * 32}}).webrtc
    assert (webrtc.rooms.on_demand, webrtc.rooms.max_rooms, webrtc.rooms.idle_close_s) == (
        True, 5, 2)
    for bad, says in (({"rooms": {"onDemand": "yes"}}, "webrtc.rooms.onDemand"),
                      ({"rooms": {"maxRooms": 0}}, "webrtc.rooms.maxRooms"),
                      ({"rooms": {"idle": 1}}, "unknown key 'idle'"),
                      ({"rooms": []}, "webrtc.rooms: expected an object"),
                      ({"tokenSecret": "short"}, "at least 32 characters")):
        with pytest.raises(ConfigError, match=says):
            load_config({"webrtc": bad})


def test_each_room_has_its_own_stable_janus_room() -> None:
    janus = JanusConfig(url="http://127.0.0.1:8088/janus", room=1234)
    assert janus.room_for("default") == 1234
    ids = {janus.room_for(name) for name in ("alice", "bob", "carol", "a", "b")}
    assert len(ids) == 5 and 1234 not in ids
    assert all(1 <= i < 2**53 for i in ids)
    assert janus.room_for("alice") == (1234 + 0x2BD806C97F0E) % (2**53 - 1), \
        "the documented mapping: room + the first 6 bytes of SHA-256(name)"
