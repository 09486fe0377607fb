from __future__ import annotations

import json

import pytest

from avatar_streaming import ProtocolError
from avatar_streaming.config import IceServer, JanusConfig, WebRTCConfig
from avatar_streaming.signaling.protocol import (
    Answer,
    CaptionLine,
    ClientIceCandidate,
    Config,
    Error,
    Offer,
    Ping,
    Pong,
    ServerIceCandidate,
    parse_client_message,
    serialize,
    sfu_info,
)
from avatar_streaming.types import Caption


def test_client_messages_parse() -> None:
    assert parse_client_message('{"type":"offer","data":{"type":"offer","sdp":"v=0"}}') == \
        Offer("v=0")
    assert parse_client_message('{"type":"pong"}') == Pong()
    assert parse_client_message(json.dumps({"type": "ice-candidate", "data": {
        "candidate": "candidate:1 1 udp 2 127.0.0.1 5000 typ host", "sdpMid": "0",
        "sdpMLineIndex": 0}})) == ClientIceCandidate(
        "candidate:1 1 udp 2 127.0.0.1 5000 typ host", "0", 0)
    for end in ('null', '{"candidate": ""}', '{"candidate": null, "sdpMid": "0"}'):
        assert parse_client_message(f'{{"type":"ice-candidate","data":{end}}}') == \
            ClientIceCandidate(None)


def test_server_messages_serialize_with_the_contracts_fields() -> None:
    assert json.loads(serialize(Config("p1", [{"urls": ["stun:x"]}], "VP8", "opus"))) == {
        "type": "config", "peerId": "p1", "iceServers": [{"urls": ["stun:x"]}],
        "videoCodec": "VP8", "audioCodec": "opus", "room": "default"}
    assert json.loads(serialize(Ping())) == {"type": "ping"}
    assert json.loads(serialize(Answer("p1", "v=0"))) == {
        "type": "answer", "peerId": "p1", "data": {"type": "answer", "sdp": "v=0"}}
    assert json.loads(serialize(ServerIceCandidate("p1", "candidate:x", "0", 0))) == {
        "type": "ice-candidate", "peerId": "p1",
        "data": {"candidate": "candidate:x", "sdpMid": "0", "sdpMLineIndex": 0}}
    assert json.loads(serialize(Error("bad"))) == {"type": "error", "error": "bad"}


@pytest.mark.parametrize(("text", "words"), [
    ("{", ["malformed JSON"]),
    ("[]", ["JSON object", "'[]'"]),
    ('"offer"', ["JSON object"]),
    ('{"type":"hello"}', ["unknown message type 'hello'", "'offer'"]),
    ("{}", ["unknown message type None"]),
    ('{"type":"offer"}', ["offer", "expected data"]),
    ('{"type":"offer","data":{"type":"answer","sdp":"v=0"}}', ["data.type 'offer'", "'answer'"]),
    ('{"type":"offer","data":{"type":"offer","sdp":""}}', ["data.sdp"]),
    ('{"type":"offer","data":{"type":"offer","sdp":5}}', ["data.sdp", "5"]),
    ('{"type":"ice-candidate","data":"x"}', ["ice-candidate", "or null"]),
    ('{"type":"ice-candidate","data":{"candidate":1,"sdpMid":"0"}}', ["data.candidate"]),
    ('{"type":"ice-candidate","data":{"candidate":"c"}}', ["sdpMid or data.sdpMLineIndex"]),
    ('{"type":"ice-candidate","data":{"candidate":"c","sdpMLineIndex":-1}}', ["non-negative"]),
    ('{"type":"ice-candidate","data":{"candidate":"c","sdpMid":3}}', ["data.sdpMid"]),
])
def test_bad_messages_raise_protocol_errors_that_say_what_was_expected(
        text: str, words: list[str]) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(text)
    for word in words:
        assert word in str(info.value)


def test_huge_sdp_is_refused() -> None:
    with pytest.raises(ProtocolError, match="characters"):
        parse_client_message(json.dumps({"type": "offer", "data": {"sdp": "v" * 100_000}}))


def test_sfu_info_tells_the_page_where_to_watch_and_no_secret() -> None:
    assert sfu_info(WebRTCConfig()) is None
    janus = JanusConfig("http://janus.example:8088/janus", 1234, secret="admin-secret",
                        pin="room-pin", token="janus-token", api_secret="api-secret",
                        display="host")
    turn = IceServer(("turn:turn.example:3478",), "user", "pass")
    info = sfu_info(WebRTCConfig(sfu=janus, ice_servers=(turn,)))
    assert info == {"type": "janus", "url": "http://janus.example:8088/janus", "room": 1234,
                    "display": "host", "pinned": True,
                    "iceServers": [{"urls": ["turn:turn.example:3478"], "username": "user",
                                    "credential": "pass"}]}
    text = json.dumps(info)
    for secret in ("admin-secret", "room-pin", "janus-token", "api-secret"):
        assert secret not in text


def test_a_caption_serializes_as_the_page_reads_it() -> None:
    line = CaptionLine(Caption("You said: hello", "avatar", True, "avatar"))
    assert json.loads(serialize(line)) == {
        "type": "caption",
        "data": {"role": "avatar", "text": "You said: hello", "final": True, "peerId": "avatar"}}
    pending = CaptionLine(Caption("…", "user", False, "p1"))
    assert json.loads(serialize(pending))["data"] == {
        "role": "user", "text": "…", "final": False, "peerId": "p1"}
