"""A small client for the Janus HTTP API: a session, plugin handles, the event long poll.

Janus answers a request at once ("success" or "error"), or acknowledges it ("ack") and
delivers the plugin's reply later, as an event carrying the same transaction, on the
session's long poll (a GET that Janus holds until it has events). Janus drops a session
that has sent nothing for 60 s, so a keepalive goes out every ``keepalive_s``.

When the session is gone (Janus restarted, timed it out, or cannot be reached any
more) ``lost`` is set and every request waiting for a reply fails with SfuSessionLost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from ..errors import SfuError, SfuSessionLost

log = logging.getLogger(__name__)

SESSION_NOT_FOUND = 458
"""Janus's error code for a session it does not know (it restarted, or timed us out)."""
HANDLE_NOT_FOUND = 459
T = TypeVar("T")

_HANDLE_EVENTS = ("event", "webrtcup", "media", "hangup", "slowlink", "detached", "trickle")


async def to_the_end(step: Awaitable[T]) -> T:
    """Await ``step`` to its end even when the caller is cancelled meanwhile, then raise the
    cancellation. For requests Janus may already have acted on: creating a session whose
    reply would be lost (and its id with it), or destroying one. ``step`` must be bounded in
    time by itself."""
    task = asyncio.ensure_future(step)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller gets
        raise asyncio.CancelledError
    return task.result()


@dataclass(frozen=True)
class JanusReply:
    """What a plugin answered: its ``data`` and, for negotiation, a JSEP offer or answer."""

    data: dict[str, Any]
    jsep: dict[str, Any] | None = None


@dataclass(frozen=True)
class JanusEvent:
    """Something Janus told a handle unprompted: a plugin ``event`` (``data`` is the
    plugin's data) or a core notice such as ``webrtcup`` or ``hangup`` (``data`` is the
    whole message)."""

    kind: str
    data: dict[str, Any]
    jsep: dict[str, Any] | None = None


class JanusSession:
    """One Janus session over HTTP. ``open()`` creates it, ``destroy()`` ends it."""

    def __init__(self, url: str, *, token: str | None = None, api_secret: str | None = None,
                 keepalive_s: float = 25.0, request_timeout_s: float = 10.0,
                 poll_timeout_s: float = 45.0) -> None:
        self.url = url.rstrip("/")
        self.id: int | None = None
        self.lost = asyncio.Event()
        """Set when the session is gone; ``lost_reason`` says why."""
        self.lost_reason = ""
        self._auth = {k: v for k, v in (("token", token), ("apisecret", api_secret))
                      if v is not None}
        self._keepalive_s = keepalive_s
        self._request_timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._poll_timeout = aiohttp.ClientTimeout(total=poll_timeout_s)
        self._http: aiohttp.ClientSession | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._handles: dict[int, JanusHandle] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        """Create the session and start polling for its events."""
        self._http = aiohttp.ClientSession()
        await to_the_end(self._create())
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._poll(), name=f"janus-poll-{self.id}"),
                       loop.create_task(self._keepalive(), name=f"janus-keepalive-{self.id}")]
        log.debug("janus session %s created on %s", self.id, self.url)

    async def _create(self) -> None:
        reply = await self._post(self.url, {"janus": "create"})
        self.id = int(reply["data"]["id"])

    async def attach(self, plugin: str) -> JanusHandle:
        """A new handle on ``plugin`` (e.g. ``janus.plugin.videoroom``)."""
        reply = await self._post(self._session_url, {"janus": "attach", "plugin": plugin})
        handle = JanusHandle(self, int(reply["data"]["id"]))
        self._handles[handle.id] = handle
        return handle

    async def destroy(self) -> None:
        """End the session on Janus (its handles are detached there), then close. Never raises
        for a Janus that is gone: there is nothing left to end then."""
        if self.id is not None and not self.lost.is_set():
            try:
                await self._post(self._session_url, {"janus": "destroy"})
            except (SfuError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.debug("janus session %s: destroy failed (%s)", self.id, exc)
        await self.close()

    async def close(self) -> None:
        """Stop polling and keepalives, and close the HTTP connections. Idempotent."""
        self._set_lost("closed")
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    @property
    def _session_url(self) -> str:
        return f"{self.url}/{self.id}"

    async def _post(self, url: str, body: dict[str, Any],
                    transaction: str | None = None) -> dict[str, Any]:
        """POST one request; the immediate reply ("success" or "ack"), else SfuError."""
        if self._http is None:
            raise SfuSessionLost("janus: the session is closed")
        message = {**body, "transaction": transaction or _transaction(), **self._auth}
        try:
            async with self._http.post(url, json=message, timeout=self._request_timeout) as r:
                reply = await r.json(content_type=None)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self._set_lost(f"request failed: {exc or type(exc).__name__}")
            raise SfuSessionLost(f"janus: {body['janus']} request to {url} failed: "
                                 f"{exc or type(exc).__name__}") from exc
        if not isinstance(reply, dict):
            raise SfuError(f"janus: expected a JSON object in reply to {body['janus']}, "
                           f"got {reply!r:.200}")
        self._raise_for_error(reply, body["janus"])
        return reply

    def _raise_for_error(self, reply: dict[str, Any], request: str) -> None:
        if reply.get("janus") != "error":
            return
        error = reply.get("error") or {}
        code, reason = error.get("code"), error.get("reason", "")
        if code == SESSION_NOT_FOUND:
            self._set_lost(reason)
            raise SfuSessionLost(f"janus: {request}: {reason}", code)
        raise SfuError(f"janus: {request}: expected success, got error {code} {reason!r}", code)

    async def _message(self, handle_id: int, body: dict[str, Any]) -> JanusReply:
        """A plugin message; the plugin's reply, whether sent at once or as a later event."""
        transaction = _transaction()
        waiter = asyncio.get_running_loop().create_future()
        self._pending[transaction] = waiter
        try:
            reply = await self._post(f"{self._session_url}/{handle_id}", body, transaction)
            if reply.get("janus") == "ack":
                reply = await asyncio.wait_for(waiter, self._request_timeout.total)
                self._raise_for_error(reply, "message")
        except TimeoutError:
            raise SfuError(f"janus: no reply to {body.get('body')!r:.120} in time") from None
        finally:
            self._pending.pop(transaction, None)
            if waiter.done() and not waiter.cancelled():
                waiter.exception()  # retrieved: a lost session fails waiters nobody awaits
        plugindata = reply.get("plugindata") or {}
        data = plugindata.get("data") or {}
        if "error" in data or "error_code" in data:
            raise SfuError(f"janus {plugindata.get('plugin', 'plugin')}: "
                           f"{data.get('error', 'error')}", data.get("error_code"))
        return JanusReply(data, reply.get("jsep"))

    async def _poll(self) -> None:
        """Read events until the session is gone; one failed poll is retried once."""
        failures = 0
        while not self.lost.is_set():
            try:
                events = await self._get_events()
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
                failures += 1
                if failures >= 2:
                    self._set_lost(f"event poll failed: {exc or type(exc).__name__}")
                    return
                await asyncio.sleep(1.0)
                continue
            failures = 0
            for event in events:
                self._dispatch(event)

    async def _get_events(self) -> list[dict[str, Any]]:
        assert self._http is not None
        params = {"maxev": "10", "rid": secrets.token_hex(4), **self._auth}
        async with self._http.get(self._session_url, params=params,
                                  timeout=self._poll_timeout) as response:
            body = await response.json(content_type=None)
            status = response.status
        if not isinstance(body, (list, dict)):  # a restarting Janus answers with nothing
            raise ValueError(f"janus: expected events, got {body!r:.80} (HTTP {status})")
        events = body if isinstance(body, list) else [body]
        return [e for e in events if isinstance(e, dict)]

    def _dispatch(self, event: dict[str, Any]) -> None:
        kind = event.get("janus")
        if kind == "keepalive":
            return
        error = event.get("error") or {}
        if kind == "timeout":
            self._set_lost("Janus timed the session out")
            return
        if kind == "error" and error.get("code") == SESSION_NOT_FOUND:
            self._set_lost(str(error.get("reason") or "no such session"))
            return
        waiter = self._pending.get(str(event.get("transaction")))
        if kind in ("event", "success", "error") and waiter is not None and not waiter.done():
            waiter.set_result(event)
            return
        handle = self._handles.get(int(event.get("sender") or 0))
        if handle is None or kind not in _HANDLE_EVENTS:
            log.debug("janus session %s: ignoring %s", self.id, kind)
            return
        plugindata = event.get("plugindata") or {}
        data = plugindata.get("data") if kind == "event" else event
        handle.events.put_nowait(JanusEvent(str(kind), data or {}, event.get("jsep")))

    async def _keepalive(self) -> None:
        while not self.lost.is_set():
            await asyncio.sleep(self._keepalive_s)
            with contextlib.suppress(SfuError):  # a lost session sets ``lost`` itself
                await self._post(self._session_url, {"janus": "keepalive"})

    def _set_lost(self, reason: str) -> None:
        if self.lost.is_set():
            return
        if reason != "closed":
            log.warning("janus session %s on %s lost: %s", self.id, self.url, reason)
        self.lost_reason = reason
        self.lost.set()
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(SfuSessionLost(f"janus: session lost ({reason})"))
        for handle in self._handles.values():
            handle.events.put_nowait(JanusEvent("lost", {"reason": reason}))

    def _forget(self, handle: JanusHandle) -> None:
        self._handles.pop(handle.id, None)


class JanusHandle:
    """One plugin handle. ``events`` holds what Janus says to it unprompted, and a last
    ``JanusEvent("lost")`` when the session is gone."""

    def __init__(self, session: JanusSession, handle_id: int) -> None:
        self.session = session
        self.id = handle_id
        self.events: asyncio.Queue[JanusEvent] = asyncio.Queue()

    async def send(self, body: dict[str, Any], jsep: dict[str, Any] | None = None
                   ) -> JanusReply:
        """Send the plugin ``body`` (and a JSEP offer or answer); its reply, or SfuError."""
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        return await self.session._message(self.id, message)

    async def detach(self) -> None:
        """Detach from the plugin (a VideoRoom publisher leaves the room). Never raises."""
        self.session._forget(self)
        if self.session.lost.is_set():
            return
        try:
            await self.session._post(f"{self.session._session_url}/{self.id}",
                                     {"janus": "detach"})
        except SfuError as exc:
            log.debug("janus handle %s: detach failed (%s)", self.id, exc)


def _transaction() -> str:
    return secrets.token_hex(8)
