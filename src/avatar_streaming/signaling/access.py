"""Who may come in: one policy for the WebSocket, WHEP and the server's JSON endpoints.

Checked before anything is upgraded or created, in this order: the browser origin
(``allowedOrigins``: 403), the room name (400), then the credentials (401):

- ``authToken`` is a server-wide key: it lets its holder into every room and onto
  ``/status`` and ``/metrics``;
- ``tokenSecret`` signs room-scoped tokens (JWT, HS256, ``make_room_token``) with the
  claims ``room`` and ``exp`` (required), ``sub`` (the user's identity, ``peer.identity``)
  and ``mic`` (whether the user may send a microphone; default true). Such a token lets
  its holder into its room only; ``/status`` and ``/metrics`` want the server-wide key.

A refusal says what was expected, never what the server holds: a token for another
room, an expired or forged one and none at all read the same.
"""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass

import jwt
from aiohttp import web

from ..config import DEFAULT_ROOM, WebRTCConfig, check_room_name

log = logging.getLogger(__name__)

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Refusal:
    """Why a request is not let in: its HTTP status and what was expected."""

    status: int
    text: str
    headers: tuple[tuple[str, str], ...] = ()

    def response(self) -> web.Response:
        return web.Response(status=self.status, text=self.text, headers=dict(self.headers))


@dataclass(frozen=True)
class Grant:
    """What a client was let in with."""

    room: str
    identity: str | None = None
    """The token's ``sub``, if it had one."""
    mic: bool = True
    """Whether the client may send a microphone."""


def make_room_token(secret: str, room: str, ttl_s: float = 3600, identity: str | None = None,
                    mic: bool = True) -> str:
    """A token that lets its holder into ``room`` for ``ttl_s`` seconds (for the
    application's backend to hand to its user's page as ``?token=``)."""
    claims: dict[str, object] = {"room": check_room_name(room),
                                 "exp": int(time.time() + ttl_s)}
    if identity is not None:
        claims["sub"] = identity
    if not mic:
        claims["mic"] = False
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class AccessPolicy:
    def __init__(self, config: WebRTCConfig) -> None:
        self._config = config

    @property
    def open(self) -> bool:
        """No credentials needed."""
        return self._config.auth_token is None and self._config.token_secret is None

    def admit(self, request: web.Request) -> Grant | Refusal:
        """The grant to join the room the request names (``?room=``), or the refusal."""
        refused = self._check_origin(request)
        if refused is not None:
            return refused
        room = request.query.get("room", DEFAULT_ROOM)
        try:
            check_room_name(room)
        except ValueError as exc:
            return Refusal(400, str(exc))
        if self.open:
            return Grant(room)
        given = _presented_token(request)
        if self._is_server_key(given):
            return Grant(room)
        grant = self._room_grant(given, room)
        if grant is None:
            log.info("refused a connection to a room without a valid token")  # never the token
            return _unauthorized()
        return grant

    def admit_admin(self, request: web.Request) -> Refusal | None:
        """None to let a request for the server's own figures in (/status, /metrics)."""
        refused = self._check_origin(request)
        if refused is not None or self.open:
            return refused
        if self._is_server_key(_presented_token(request)):
            return None
        log.info("refused a status request without the server-wide token")
        return _unauthorized()

    def _check_origin(self, request: web.Request) -> Refusal | None:
        origins = self._config.allowed_origins
        origin = request.headers.get("Origin")
        if origins is not None and origin is not None and origin not in origins:
            log.info("refused a connection from origin %s", origin)
            return Refusal(403, f"origin not allowed: expected one of {', '.join(origins)}")
        return None

    def _is_server_key(self, given: str) -> bool:
        key = self._config.auth_token
        return key is not None and hmac.compare_digest(given.encode(), key.encode())

    def _room_grant(self, given: str, room: str) -> Grant | None:
        secret = self._config.token_secret
        if secret is None or not given:
            return None
        try:
            claims = jwt.decode(given, secret, algorithms=[ALGORITHM],
                                options={"require": ["exp", "room"]})
        except jwt.PyJWTError:
            return None
        identity, mic = claims.get("sub"), claims.get("mic", True)
        if claims["room"] != room or not isinstance(mic, bool) or \
                not isinstance(identity, str | None):
            return None
        return Grant(room, identity, mic)


def _presented_token(request: web.Request) -> str:
    """``?token=``, else an ``Authorization: Bearer`` header; "" when neither."""
    given = request.query.get("token", "")
    header = request.headers.get("Authorization", "")
    if not given and header.lower().startswith("bearer "):
        given = header[7:].strip()
    return given


def _unauthorized() -> Refusal:
    return Refusal(401, "expected a valid token (?token= or Authorization: Bearer): the "
                        "server's key, or a token for this room",
                   (("WWW-Authenticate", "Bearer"),))
