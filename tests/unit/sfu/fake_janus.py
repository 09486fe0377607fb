"""Just enough of Janus's HTTP API, on 127.0.0.1, to drive JanusSession: sessions, handles,
replies at once or acknowledged and sent later on the long poll, and a restart."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

Reply = Callable[[dict[str, Any]], tuple[str, dict[str, Any], dict[str, Any] | None]]
"""A plugin body to ("sync" or "async", plugin data, jsep)."""


def echo(body: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """Requests named "exists" answer at once; the others later, with an answer for an offer."""
    if body.get("request") == "fail":
        return "sync", {"videoroom": "event", "error_code": 426, "error": "No such room"}, None
    if body.get("request") == "exists":
        return "sync", {"videoroom": "success", "exists": True}, None
    return "async", {"videoroom": "event", "echo": body}, {"type": "answer", "sdp": "v=0"}


class FakeJanus:
    def __init__(self, reply: Reply = echo, poll_hold_s: float = 0.2) -> None:
        self.reply = reply
        self.poll_hold_s = poll_hold_s
        self.empty_polls = False
        """Answer polls at once with an empty body, as a restarting Janus was seen to."""
        self.sessions: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self.handles: dict[int, int] = {}  # handle -> session
        self.requests: list[dict[str, Any]] = []
        self.gets: list[dict[str, str]] = []
        self.created_at: list[float] = []
        """When each session was created (time.monotonic)."""
        self.reply_delay_s: dict[str, float] = {}
        """Requests ("create", "detach") answered this late, after they took effect."""
        self.delaying: dict[str, int] = {}
        """How many requests of each kind are being held back now."""
        self._ids = itertools.count(1000)
        app = web.Application()
        app.router.add_post("/janus", self._root)
        app.router.add_post("/janus/{session}", self._session)
        app.router.add_get("/janus/{session}", self._poll)
        app.router.add_post("/janus/{session}/{handle}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/janus"

    async def start(self) -> None:
        await self.server.start_server()

    async def close(self) -> None:
        await self.server.close()

    def restart(self) -> None:
        """Forget every session, as a Janus that was restarted."""
        self.sessions.clear()
        self.handles.clear()

    def push(self, session_id: int, event: dict[str, Any]) -> None:
        self.sessions[session_id].put_nowait(event)

    async def _body(self, request: web.Request) -> dict[str, Any]:
        body: dict[str, Any] = await request.json()
        self.requests.append(body)
        return body

    async def _root(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        self.created_at.append(time.monotonic())
        session_id = next(self._ids)
        self.sessions[session_id] = asyncio.Queue()
        await self._hold_back("create")
        return _json({"janus": "success", "transaction": body["transaction"],
                      "data": {"id": session_id}})

    async def _hold_back(self, kind: str) -> None:
        delay = self.reply_delay_s.get(kind)
        if delay:
            self.delaying[kind] = self.delaying.get(kind, 0) + 1
            try:
                await asyncio.sleep(delay)
            finally:
                self.delaying[kind] -= 1

    def _unknown(self, transaction: str | None, session_id: int) -> web.Response:
        return _json({"janus": "error", "transaction": transaction, "error": {
            "code": 458, "reason": f"No such session {session_id}"}})

    async def _session(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        session_id = int(request.match_info["session"])
        if session_id not in self.sessions:
            return self._unknown(body["transaction"], session_id)
        if body["janus"] == "attach":
            handle_id = next(self._ids)
            self.handles[handle_id] = session_id
            return _json({"janus": "success", "transaction": body["transaction"],
                          "data": {"id": handle_id}})
        if body["janus"] == "destroy":
            del self.sessions[session_id]
            return _json({"janus": "success", "transaction": body["transaction"]})
        return _json({"janus": "ack", "transaction": body["transaction"]})  # keepalive

    async def _poll(self, request: web.Request) -> web.Response:
        self.gets.append(dict(request.query))
        if self.empty_polls:
            return web.Response(body=b"")
        session_id = int(request.match_info["session"])
        queue = self.sessions.get(session_id)
        if queue is None:
            return self._unknown(None, session_id)
        try:
            event = await asyncio.wait_for(queue.get(), self.poll_hold_s)
        except TimeoutError:
            return _json([{"janus": "keepalive"}])
        return _json([event])

    async def _handle(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        session_id, handle_id = (int(request.match_info[k]) for k in ("session", "handle"))
        if session_id not in self.sessions:
            return self._unknown(body["transaction"], session_id)
        if body["janus"] == "detach":
            self.handles.pop(handle_id, None)
            await self._hold_back("detach")
            return _json({"janus": "success", "transaction": body["transaction"]})
        mode, data, jsep = self.reply(body["body"])
        plugindata = {"plugin": "janus.plugin.videoroom", "data": data}
        if mode == "sync":
            return _json({"janus": "success", "transaction": body["transaction"],
                          "sender": handle_id, "plugindata": plugindata})
        event: dict[str, Any] = {"janus": "event", "transaction": body["transaction"],
                                 "sender": handle_id, "plugindata": plugindata}
        if jsep is not None and "jsep" in body:
            event["jsep"] = jsep
        self.push(session_id, event)
        return _json({"janus": "ack", "transaction": body["transaction"]})


def _json(body: Any) -> web.Response:
    return web.json_response(body)
