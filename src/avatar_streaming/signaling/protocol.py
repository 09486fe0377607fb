"""The contract's signaling messages: pure parsing and serialization.

Every message is a JSON object with a ``type``; the contract's payload fields
stand beside it. Nothing here does I/O: ``parse_client_message`` takes the text
of a WebSocket frame and returns a message or raises ``ProtocolError`` (whose
text goes back to the client); ``serialize`` turns a server message into text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..config import DEFAULT_ROOM, WebRTCConfig
from ..errors import ProtocolError
from ..types import Caption

# --- client -> server -------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    sdp: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "offer", "sdp": self.sdp}


@dataclass(frozen=True)
class Pong:
    pass


@dataclass(frozen=True)
class ClientIceCandidate:
    """A trickled candidate; ``candidate`` None (or empty) ends the candidates."""

    candidate: str | None
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None

    def to_json(self) -> dict[str, Any] | None:
        if self.candidate is None:
            return None
        return {"candidate": self.candidate, "sdpMid": self.sdp_mid,
                "sdpMLineIndex": self.sdp_mline_index}


ClientMessage = Offer | Pong | ClientIceCandidate

# --- server -> client -------------------------------------------------------


@dataclass(frozen=True)
class Config:
    peer_id: str
    ice_servers: list[dict[str, Any]]
    video_codec: str
    audio_codec: str
    room: str = DEFAULT_ROOM


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Answer:
    peer_id: str
    sdp: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "answer", "sdp": self.sdp}


@dataclass(frozen=True)
class ServerIceCandidate:
    peer_id: str
    candidate: str
    sdp_mid: str | None
    sdp_mline_index: int | None


@dataclass(frozen=True)
class Error:
    error: str


@dataclass(frozen=True)
class CaptionLine:
    """A caption for every peer of a room: ``{"type": "caption", "data": {role, text, final,
    peerId}}``."""

    caption: Caption


ServerMessage = Config | Ping | Answer | ServerIceCandidate | Error | CaptionLine

MAX_SDP_CHARS = 60_000


# --- GET /sfu: where the page watches when the system relays through Janus ----


def sfu_info(config: WebRTCConfig, room: str = DEFAULT_ROOM) -> dict[str, Any] | None:
    """What the page needs to watch ``room`` through the SFU, or None when there is none.

    The Janus URL, the room's Janus room id, the display name our publisher goes by and the ICE
    servers (the ones the ``config`` message gives too). Never the room's secret or
    pin, nor Janus's token or API secret: a user who needs the pin adds ``?pin=``.
    """
    sfu = config.sfu
    if sfu is None:
        return None
    return {"type": "janus", "url": sfu.url, "room": sfu.room_for(room), "display": sfu.display,
            "pinned": sfu.pin is not None,
            "iceServers": [s.to_json() for s in config.ice_servers]}


def serialize(message: ServerMessage) -> str:
    """The JSON text of a server message."""
    match message:
        case Config(peer_id, ice_servers, video_codec, audio_codec, room):
            body: dict[str, Any] = {"type": "config", "peerId": peer_id,
                                    "iceServers": ice_servers, "videoCodec": video_codec,
                                    "audioCodec": audio_codec, "room": room}
        case Ping():
            body = {"type": "ping"}
        case Answer(peer_id, _):
            body = {"type": "answer", "peerId": peer_id, "data": message.to_json()}
        case ServerIceCandidate(peer_id, candidate, sdp_mid, sdp_mline_index):
            body = {"type": "ice-candidate", "peerId": peer_id,
                    "data": {"candidate": candidate, "sdpMid": sdp_mid,
                             "sdpMLineIndex": sdp_mline_index}}
        case Error(error):
            body = {"type": "error", "error": error}
        case CaptionLine(caption):
            body = {"type": "caption", "data": {"role": caption.role, "text": caption.text,
                                                "final": caption.final,
                                                "peerId": caption.peer_id}}
    return json.dumps(body, separators=(",", ":"))


def parse_client_message(text: str) -> ClientMessage:
    """Parse one WebSocket text frame from a client."""
    try:
        body = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ProtocolError(
            f"malformed JSON: expected a JSON object, got {_preview(text)}") from None
    if not isinstance(body, dict):
        raise ProtocolError(f"expected a JSON object with a 'type', got {_preview(text)}")
    kind = body.get("type")
    match kind:
        case "offer":
            return Offer(_parse_description(body.get("data"), "offer"))
        case "pong":
            return Pong()
        case "ice-candidate":
            return _parse_candidate(body.get("data"))
        case _:
            raise ProtocolError(
                f"unknown message type {kind!r}: expected 'offer', 'ice-candidate' or 'pong'"
            )


def _parse_description(data: Any, expected_type: str) -> str:
    if not isinstance(data, dict):
        raise ProtocolError(
            f"{expected_type}: expected data {{type: '{expected_type}', sdp}}, got {data!r:.80}"
        )
    if data.get("type", expected_type) != expected_type:
        raise ProtocolError(
            f"{expected_type}: expected data.type '{expected_type}', got {data.get('type')!r}"
        )
    sdp = data.get("sdp")
    if not isinstance(sdp, str) or not sdp.strip():
        raise ProtocolError(f"{expected_type}: expected data.sdp to be SDP text, got {sdp!r:.80}")
    if len(sdp) > MAX_SDP_CHARS:
        raise ProtocolError(
            f"{expected_type}: expected data.sdp under {MAX_SDP_CHARS} characters, got {len(sdp)}"
        )
    return sdp


def _parse_candidate(data: Any) -> ClientIceCandidate:
    if data is None:
        return ClientIceCandidate(None)
    if not isinstance(data, dict):
        raise ProtocolError(
            f"ice-candidate: expected data {{candidate, sdpMid, sdpMLineIndex}} or null, "
            f"got {data!r:.80}"
        )
    candidate = data.get("candidate")
    if candidate in (None, ""):
        return ClientIceCandidate(None)
    if not isinstance(candidate, str):
        raise ProtocolError(
            f"ice-candidate: expected data.candidate a string, got {candidate!r:.80}")
    sdp_mid = data.get("sdpMid")
    index = data.get("sdpMLineIndex")
    if sdp_mid is not None and not isinstance(sdp_mid, str):
        raise ProtocolError(f"ice-candidate: expected data.sdpMid a string, got {sdp_mid!r:.80}")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise ProtocolError(
            f"ice-candidate: expected data.sdpMLineIndex a non-negative integer, got {index!r:.80}"
        )
    if sdp_mid is None and index is None:
        raise ProtocolError(
            "ice-candidate: expected data.sdpMid or data.sdpMLineIndex, got neither")
    return ClientIceCandidate(candidate, sdp_mid, index)


def _preview(text: str) -> str:
    return repr(text[:60] + ("..." if len(text) > 60 else ""))
