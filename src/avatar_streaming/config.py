"""Configuration: frozen dataclasses, and the one place that reads the contract's dict.

The contract spells its keys in camelCase (``{"webrtc": {"signalingPort": 8081}}``);
Python callers may use the dataclasses instead. Both go through the same
validation, and every error names the key, what was expected and what came.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .codecs import AUDIO_CODECS, VIDEO_CODECS
from .errors import ConfigError

VideoCodec = Literal["VP8", "VP9", "H264"]
AudioCodec = Literal["opus", "pcmu", "pcma"]
"""The names of codecs.py's table, for type checkers (tests/unit/test_codecs.py keeps
them the same)."""


@dataclass(frozen=True)
class IceServer:
    """One STUN or TURN server, as in the W3C ``RTCIceServer``."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``RTCIceServer`` dict sent to browsers in the ``config`` message."""
        out: dict[str, Any] = {"urls": list(self.urls)}
        if self.username is not None:
            out["username"] = self.username
        if self.credential is not None:
            out["credential"] = self.credential
        return out


GOOGLE_STUN = (IceServer(urls=("stun:stun.l.google.com:19302",)),)

SFU_TYPES: tuple[str, ...] = ("janus",)


@dataclass(frozen=True)
class JanusConfig:
    """Relay through a Janus VideoRoom (``webrtc.sfu = {"type": "janus", ...}``).

    We publish the shared streams once into ``room`` and subscribe to the audio of
    every other publisher there (see sfu/relay.py).
    """

    url: str
    """Janus's HTTP API endpoint, e.g. ``http://janus.example:8088/janus``."""
    room: int
    """VideoRoom room id; created (with ``secret`` and ``pin``) if it does not exist."""
    secret: str | None = None
    """The room's admin secret: set on the room when we create it."""
    pin: str | None = None
    """The room's pin, needed to join it (and set on the room when we create it)."""
    token: str | None = None
    """Janus token for token-based authentication (``token_auth``), sent with every request."""
    api_secret: str | None = None
    """Janus ``api_secret``, sent with every request as ``apisecret``."""
    display: str = "avatar"
    """Our display name among the room's publishers."""

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"webrtc.sfu.url: expected an http:// or https:// URL of the "
                              f"Janus HTTP API, got {self.url!r}")
        _check_int("webrtc.sfu.room", self.room, 1, 2**53 - 1)
        for key, value in (("secret", self.secret), ("pin", self.pin), ("token", self.token),
                           ("apiSecret", self.api_secret)):
            if value is not None:
                _check_str(f"webrtc.sfu.{key}", value)
        _check_str("webrtc.sfu.display", self.display)

    def room_for(self, name: str) -> int:
        """The Janus room id that our room ``name`` publishes into: ``room`` for the default
        room; for any other, ``room`` plus the first 6 bytes of the SHA-256 of its name
        (UTF-8) as a big-endian integer, modulo 2**53 - 1 (Janus's ids are JSON integers),
        plus 1 when that lands on 0. Stable across runs and processes."""
        if name == DEFAULT_ROOM:
            return self.room
        digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:6], "big")
        return (self.room + digest) % (2**53 - 1) or 1


ROOM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a room name may be: 1-64 letters, digits, ``_`` or ``-``."""
DEFAULT_ROOM = "default"
"""The room a client joins when it names none: the contract's one avatar."""


def check_room_name(name: object) -> str:
    """``name`` if it is a valid room name; ValueError saying what was expected otherwise."""
    if not isinstance(name, str) or ROOM_NAME.fullmatch(name) is None:
        raise ValueError(f"room: expected 1-64 characters of A-Z, a-z, 0-9, '_' or '-', "
                         f"got {str(name)[:80]!r}")
    return name


@dataclass(frozen=True)
class RoomsConfig:
    """``webrtc.rooms``: one conversation per room (see rooms.py)."""

    on_demand: bool = False
    """Open a room the first time a client names it (else an unknown room is refused)."""
    max_rooms: int = 100
    """The most rooms open at once, the default room included."""
    idle_close_s: float = 30.0
    """A room opened on demand closes this long after its last peer left."""

    def __post_init__(self) -> None:
        _check_bool("webrtc.rooms.onDemand", self.on_demand)
        _check_int("webrtc.rooms.maxRooms", self.max_rooms, 1, 100_000)
        _check_number("webrtc.rooms.idleCloseS", self.idle_close_s, 0.01, 86_400)


@dataclass(frozen=True)
class WebRTCConfig:
    """The signaling server and the WebRTC peers."""

    signaling_port: int = 8081
    """TCP port of the WebSocket signaling server; 0 binds any free port."""
    signaling_host: str = "0.0.0.0"
    """Address the signaling server binds."""
    ice_servers: tuple[IceServer, ...] = GOOGLE_STUN
    """STUN/TURN servers, for us and sent to browsers."""
    debug: bool = False
    max_clients: int = 100
    """Signaling connections beyond this get an error and are closed."""
    video_codec: VideoCodec = "VP8"
    audio_codec: AudioCodec = "opus"
    ice_transport_policy: Literal["all", "relay"] = "all"
    """"relay": only TURN relay candidates (media always flows through the TURN server)."""
    ice_host_addresses: tuple[str, ...] | None = None
    """The only local IPs ICE gathers host candidates on; None means all (loopback excluded)."""
    ping_interval_s: float = 30.0
    """Keep-alive ping period; a client missing two pongs in a row is disconnected."""
    message_rate_limit: float = 50.0
    """Signaling messages per second a client may send on average; beyond that (and a
    burst of ``message_burst``) they are dropped with an error."""
    message_burst: int = 200
    ssl_context: ssl.SSLContext | None = None
    """Serve https:// and wss:// directly with this context (or terminate TLS in a reverse
    proxy in front, see the README)."""
    auth_token: str | None = None
    """If set, a client must present it (``?token=`` or ``Authorization: Bearer``), or the
    WebSocket upgrade and /status answer 401."""
    allowed_origins: tuple[str, ...] | None = None
    """If set, a request with an Origin header not in it gets 403 (a hostile web page can't
    drive a user's browser into the server); clients that send no Origin are not browsers."""
    sfu: JanusConfig | None = None
    """If set, also publish our streams once into this SFU and take its users' microphones
    from there (browsers may still connect directly)."""
    rooms: RoomsConfig = field(default_factory=RoomsConfig)
    token_secret: str | None = None
    """If set, clients may present a room-scoped JWT (HS256) signed with it
    (``make_room_token``); see signaling/access.py."""

    def __post_init__(self) -> None:
        _check_int("webrtc.signalingPort", self.signaling_port, 0, 65535)
        _check_str("webrtc.signalingHost", self.signaling_host)
        _check_bool("webrtc.debug", self.debug)
        _check_int("webrtc.maxClients", self.max_clients, 1, 1_000_000)
        _check_choice("webrtc.videoCodec", self.video_codec, VIDEO_CODECS)
        _check_choice("webrtc.audioCodec", self.audio_codec, AUDIO_CODECS)
        _check_choice("webrtc.iceTransportPolicy", self.ice_transport_policy, ("all", "relay"))
        _check_number("webrtc.pingInterval", self.ping_interval_s, 0.01, 3600)
        if not isinstance(self.ice_servers, tuple) or not all(
            isinstance(s, IceServer) for s in self.ice_servers
        ):
            raise ConfigError(
                f"webrtc.iceServers: expected a tuple of IceServer, got {self.ice_servers!r}"
            )
        if self.ice_host_addresses is not None:
            _check_addresses("webrtc.iceHostAddresses", self.ice_host_addresses)
        _check_number("webrtc.messageRateLimit", self.message_rate_limit, 0.1, 1e9)
        _check_int("webrtc.messageBurst", self.message_burst, 1, 1_000_000_000)
        if self.ssl_context is not None and not isinstance(self.ssl_context, ssl.SSLContext):
            raise ConfigError(f"webrtc.sslContext: expected an ssl.SSLContext, "
                              f"got {self.ssl_context!r}")
        if self.auth_token is not None:
            _check_str("webrtc.authToken", self.auth_token)
        if self.allowed_origins is not None and (
                not isinstance(self.allowed_origins, tuple)
                or not all(isinstance(o, str) and "://" in o for o in self.allowed_origins)):
            raise ConfigError(f"webrtc.allowedOrigins: expected a list of origins like "
                              f"'https://example.com', got {self.allowed_origins!r}")
        if not isinstance(self.rooms, RoomsConfig):
            raise ConfigError(f"webrtc.rooms: expected a RoomsConfig, got {self.rooms!r}")
        if self.token_secret is not None and (
                not isinstance(self.token_secret, str) or len(self.token_secret) < 32):
            raise ConfigError("webrtc.tokenSecret: expected a string of at least 32 "
                              "characters (an HS256 key), got "
                              + (f"{len(self.token_secret)} characters"
                                 if isinstance(self.token_secret, str)
                                 else repr(self.token_secret)))
        if self.sfu is not None and not isinstance(self.sfu, JanusConfig):
            raise ConfigError(f"webrtc.sfu: expected a JanusConfig, got {self.sfu!r}")


@dataclass(frozen=True)
class MediaConfig:
    """What the bridge pushes and emits."""

    video_fps: float = 30
    video_width: int = 512
    video_height: int = 512
    audio_sample_rate: int = 16000
    """Rate of the PCM the bridge emits as "incoming-audio" (pushed chunks carry their own)."""
    audio_channels: int = 1
    """Channels of the PCM the bridge emits as "incoming-audio"."""
    debug: bool = False
    incoming_audio_chunk_ms: int = 100
    """Length of each "incoming-audio" chunk."""
    audio_queue_s: float = 30.0
    """Most pushed audio waiting to play; pushing beyond it raises AudioQueueFullError."""
    video_bitrate_bps: int = 1_000_000
    """Target of the one shared video encoder."""
    audio_bitrate_bps: int = 32_000
    """Target of the one shared Opus encoder (mono); PCMU and PCMA are always 64 kbit/s."""
    audio_lead_ms: float = 20.0
    """Each frame leaves this long after the audio of its time, for a browser that plays
    audio later after it arrives than video (Chromium: 35-40 ms later; see media/sync.py)."""

    def __post_init__(self) -> None:
        _check_number("media.videoFps", self.video_fps, 1, 240)
        _check_int("media.videoWidth", self.video_width, 16, 4096)
        _check_int("media.videoHeight", self.video_height, 16, 4096)
        for key, value in (("media.videoWidth", self.video_width),
                           ("media.videoHeight", self.video_height)):
            if value % 2:
                raise ConfigError(f"{key}: expected an even number of pixels, got {value!r}")
        _check_int("media.audioSampleRate", self.audio_sample_rate, 8000, 192000)
        _check_int("media.audioChannels", self.audio_channels, 1, 2)
        _check_bool("media.debug", self.debug)
        _check_int("media.incomingAudioChunkMs", self.incoming_audio_chunk_ms, 10, 10_000)
        _check_number("media.audioQueueSeconds", self.audio_queue_s, 0.1, 3600)
        _check_int("media.videoBitrate", self.video_bitrate_bps, 50_000, 20_000_000)
        _check_int("media.audioBitrate", self.audio_bitrate_bps, 6_000, 510_000)
        _check_number("media.audioLeadMs", self.audio_lead_ms, 0, 500)


@dataclass(frozen=True)
class StreamingSystemConfig:
    webrtc: WebRTCConfig = field(default_factory=WebRTCConfig)
    media: MediaConfig = field(default_factory=MediaConfig)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> StreamingSystemConfig:
        """Build from the contract's camelCase dict, rejecting unknown keys."""
        _check_mapping("config", raw)
        _reject_unknown("config", raw, ("webrtc", "media"))
        webrtc = raw.get("webrtc", {})
        media = raw.get("media", {})
        _check_mapping("webrtc", webrtc)
        _check_mapping("media", media)
        return cls(
            webrtc=WebRTCConfig(**_translate("webrtc", webrtc, _WEBRTC_KEYS)),
            media=MediaConfig(**_translate("media", media, _MEDIA_KEYS)),
        )


def load_config(config: StreamingSystemConfig | Mapping[str, Any] | None) -> StreamingSystemConfig:
    """Accept either spelling of the configuration."""
    if config is None:
        return StreamingSystemConfig()
    if isinstance(config, StreamingSystemConfig):
        return config
    if isinstance(config, Mapping):
        return StreamingSystemConfig.from_dict(config)
    raise ConfigError(
        f"config: expected a dict or StreamingSystemConfig, got {type(config).__name__}"
    )


# camelCase key -> (dataclass field, converter from the JSON-ish value)
Converter = Callable[[str, Any], Any]


def _same(_key: str, value: Any) -> Any:
    return value


def _ice_servers(key: str, value: Any) -> tuple[IceServer, ...]:
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{key}: expected a list of {{urls, username?, credential?}}, "
                          f"got {value!r}")
    servers = []
    for i, entry in enumerate(value):
        where = f"{key}[{i}]"
        _check_mapping(where, entry)
        _reject_unknown(where, entry, ("urls", "username", "credential"))
        urls = entry.get("urls")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list | tuple) or not urls or not all(
            isinstance(u, str) and u.split(":", 1)[0] in ("stun", "stuns", "turn", "turns")
            for u in urls
        ):
            raise ConfigError(f"{where}.urls: expected stun:/turn: URL strings, got {urls!r}")
        for opt in ("username", "credential"):
            if entry.get(opt) is not None and not isinstance(entry[opt], str):
                raise ConfigError(f"{where}.{opt}: expected a string, got {entry[opt]!r}")
        servers.append(IceServer(tuple(urls), entry.get("username"), entry.get("credential")))
    return tuple(servers)


def _addresses(key: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{key}: expected a list of IP addresses, got {value!r}")
    return tuple(value)


def _sfu(key: str, value: Any) -> JanusConfig | None:
    if value is None:
        return None
    _check_mapping(key, value)
    if value.get("type") not in SFU_TYPES:
        raise ConfigError(f"{key}.type: expected one of {', '.join(SFU_TYPES)}, "
                          f"got {value.get('type')!r}")
    _reject_unknown(key, value, ("type", *_JANUS_KEYS))
    rest = {k: v for k, v in value.items() if k != "type"}
    for required in ("url", "room"):
        if required not in rest:
            raise ConfigError(f"{key}.{required}: expected a value, got nothing")
    return JanusConfig(**_translate(key, rest, _JANUS_KEYS))


def _rooms(key: str, value: Any) -> RoomsConfig:
    _check_mapping(key, value)
    return RoomsConfig(**_translate(key, value, _ROOMS_KEYS))


_ROOMS_KEYS: dict[str, tuple[str, Converter]] = {
    "onDemand": ("on_demand", _same),
    "maxRooms": ("max_rooms", _same),
    "idleCloseS": ("idle_close_s", _same),
}

_JANUS_KEYS: dict[str, tuple[str, Converter]] = {
    "url": ("url", _same),
    "room": ("room", _same),
    "secret": ("secret", _same),
    "pin": ("pin", _same),
    "token": ("token", _same),
    "apiSecret": ("api_secret", _same),
    "display": ("display", _same),
}

_WEBRTC_KEYS: dict[str, tuple[str, Converter]] = {
    "signalingPort": ("signaling_port", _same),
    "signalingHost": ("signaling_host", _same),
    "iceServers": ("ice_servers", _ice_servers),
    "debug": ("debug", _same),
    "maxClients": ("max_clients", _same),
    "videoCodec": ("video_codec", _same),
    "audioCodec": ("audio_codec", _same),
    "iceHostAddresses": ("ice_host_addresses", _addresses),
    "iceTransportPolicy": ("ice_transport_policy", _same),
    "pingInterval": ("ping_interval_s", _same),
    "messageRateLimit": ("message_rate_limit", _same),
    "messageBurst": ("message_burst", _same),
    "sslContext": ("ssl_context", _same),
    "authToken": ("auth_token", _same),
    "allowedOrigins": ("allowed_origins", lambda key, v: tuple(v) if isinstance(v, list) else v),
    "sfu": ("sfu", _sfu),
    "rooms": ("rooms", _rooms),
    "tokenSecret": ("token_secret", _same),
}

_MEDIA_KEYS: dict[str, tuple[str, Converter]] = {
    "videoFps": ("video_fps", _same),
    "videoWidth": ("video_width", _same),
    "videoHeight": ("video_height", _same),
    "audioSampleRate": ("audio_sample_rate", _same),
    "audioChannels": ("audio_channels", _same),
    "debug": ("debug", _same),
    "incomingAudioChunkMs": ("incoming_audio_chunk_ms", _same),
    "audioQueueSeconds": ("audio_queue_s", _same),
    "videoBitrate": ("video_bitrate_bps", _same),
    "audioBitrate": ("audio_bitrate_bps", _same),
    "audioLeadMs": ("audio_lead_ms", _same),
}


def _translate(
    section: str, raw: Mapping[str, Any], keys: dict[str, tuple[str, Converter]]
) -> dict[str, Any]:
    _reject_unknown(section, raw, tuple(keys))
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name, convert = keys[key]
        out[name] = convert(f"{section}.{key}", value)
    return out


def _reject_unknown(where: str, raw: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key in raw:
        if key not in known:
            raise ConfigError(
                f"{where}: unknown key {key!r}; expected one of {', '.join(known)}"
            )


def _check_mapping(key: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected an object (dict), got {value!r}")


def _check_int(key: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{key}: expected an integer in [{low}, {high}], got {value!r}")


def _check_number(key: str, value: Any, low: float, high: float) -> None:
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not low <= value <= high):
        raise ConfigError(f"{key}: expected a number in [{low}, {high}], got {value!r}")


def _check_bool(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")


def _check_str(key: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")


def _check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: expected one of {', '.join(choices)}, got {value!r}")


def _check_addresses(key: str, value: Any) -> None:
    if not isinstance(value, tuple) or not value:
        raise ConfigError(f"{key}: expected a non-empty list of IP addresses, got {value!r}")
    for address in value:
        try:
            ipaddress.ip_address(address)
        except (ValueError, TypeError):
            raise ConfigError(f"{key}: expected IP addresses, got {address!r}") from None

