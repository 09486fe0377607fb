"""What each structured fuzz case must be answered with, and the clients that send them.

The rule, for the WebSocket: every message gets exactly one reply, an ``error`` that says
what was expected, or (an offer) an ``answer`` that a browser could apply, except the
messages the protocol answers with silence: a well-formed candidate for a negotiated
peer, the end of its candidates, a pong. Each message is followed by a sentinel (an
unknown type, whose error is the last reply to wait for), so silence is told from slowness.
For WHEP: ``201`` with an SDP answer and a Location, or ``4xx`` with a body that says what
was expected; never ``5xx``, never no reply; a PATCH is ``204`` when every candidate in it
is well formed and ``400`` otherwise.

What "well formed" means is written out here a second time, as the grammar of RFC 8839
(section 5.1) in the terms the README promises, rather than by calling the server's parser.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiortc.sdp import SessionDescription

from tests.fuzzing import BROWSER_OFFER, SignalingCase, WhepCase, offer_message

SENTINEL = "fuzz-sentinel"
REPLY_TIMEOUT_S = 5.0
"""The longest a reply may take: generous for a loaded 2-core machine; none comes near it
when the server is right, and a missing reply waits it out before counting as silence."""

_CANDIDATE = re.compile(
    r"(?:a=)?candidate:(?P<foundation>[A-Za-z0-9+/]{1,32}) (?P<component>[0-9]{1,3}) "
    r"(?P<transport>(?i:udp|tcp)) (?P<priority>[0-9]{1,10}) (?P<address>[^ ]+) "
    r"(?P<port>[0-9]{1,5}) typ (?P<type>host|srflx|prflx|relay)"
    r"(?P<extensions>(?: [^ ]+ [^ ]+)*)")
"""Fields one space apart (RFC 8839's SP), numbers in ASCII digits."""


def well_formed_candidate(text: str) -> bool:
    """An ICE candidate attribute by RFC 8839's grammar, with values in range."""
    match = _CANDIDATE.fullmatch(text.strip())
    if match is None:
        return False
    if not 1 <= int(match["component"]) <= 256 or int(match["priority"]) >= 2**32:
        return False
    if int(match["port"]) > 65535 or not _address(match["address"]):
        return False
    extensions = match["extensions"].split(" ")[1:]
    pairs = dict(zip(extensions[::2], extensions[1::2], strict=True))
    if "raddr" in pairs and not _address(pairs["raddr"]):
        return False
    rport = pairs.get("rport", "0")
    return re.fullmatch("[0-9]{1,5}", rport) is not None and int(rport) <= 65535


def _address(text: str) -> bool:
    if text.endswith(".local") and len(text) > len(".local"):
        return True
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def answer_problems(answer: str, offer: str) -> list[str]:
    """Why a browser could not apply ``answer`` to ``offer``: none, when it could."""
    try:
        description = SessionDescription.parse(answer)
    except Exception as exc:
        return [f"the answer does not parse: {type(exc).__name__} {exc}"]
    offered = sum(1 for line in offer.splitlines() if line.startswith("m="))
    problems = []
    if len(description.media) != offered:
        problems.append(f"{len(description.media)} media sections answer an offer of {offered}")
    for index, media in enumerate(description.media):
        if media.port == 0:
            continue  # a section the answer rejects needs nothing more
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            problems.append(f"answer section {index}: no ICE credentials")
        if media.dtls is None or not media.dtls.fingerprints:
            problems.append(f"answer section {index}: no DTLS fingerprint")
        if media.kind in ("audio", "video") and not media.rtp.codecs:
            problems.append(f"answer section {index}: no codec")
    return problems


def error_problems(text: str) -> list[str]:
    if text.startswith("internal error"):
        return [f"an internal error: {text!r}"]
    if "expected" not in text:
        return [f"an error that does not say what was expected: {text!r}"]
    return []


@dataclass
class Negotiation:
    """What the server has agreed to so far on one connection: the mids of its offer."""

    mids: list[str] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return bool(self.mids)


def expected_reply(body: Any, state: Negotiation) -> str:
    """"answer-or-error", "error" or "silence": what the protocol owes ``body``."""
    if not isinstance(body, dict):
        return "error"
    kind, data = body.get("type"), body.get("data")
    if kind == "pong":
        return "silence"
    if kind == "offer":
        good = isinstance(data, dict) and data.get("type", "offer") == "offer" \
            and isinstance(data.get("sdp"), str) and bool(data["sdp"].strip())
        return "answer-or-error" if good else "error"
    if kind != "ice-candidate":
        return "error"
    if data is not None and not isinstance(data, dict):
        return "error"
    text = None if data is None else data.get("candidate")
    if text in (None, ""):
        return "silence" if state.answered else "error"
    mid = data.get("sdpMid") if data else None
    index = data.get("sdpMLineIndex") if data else None
    if not isinstance(text, str) or (mid is not None and not isinstance(mid, str)):
        return "error"
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)
                              or index < 0):
        return "error"
    if not state.answered or (mid is None and index is None):
        return "error"
    if mid is not None and mid not in state.mids:
        return "error"
    if mid is None and index is not None and index >= len(state.mids):
        return "error"
    return "silence" if well_formed_candidate(text) else "error"


def offer_mids(sdp: str) -> list[str]:
    return [str(media.rtp.muxId) for media in SessionDescription.parse(sdp).media]


@dataclass
class Verdict:
    """One case as it went: what was sent, what came back, what was wrong with that."""

    sent: list[Any] = field(default_factory=list)
    replies: list[list[str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)  # "answer", "error", "silence", per message
    slowest_reply_s: float = 0.0

    def describe(self) -> str:
        lines = [f"  sent {json.dumps(body)[:300]}\n    got {replies}"
                 for body, replies in zip(self.sent, self.replies, strict=False)]
        return "\n".join(["; ".join(self.problems), *lines])


async def run_signaling_case(http: aiohttp.ClientSession, url: str,
                             case: SignalingCase) -> Verdict:
    """Send ``case`` over a WebSocket of its own; judge each reply."""
    verdict = Verdict()
    state = Negotiation()
    async with http.ws_connect(url) as ws:
        first = await ws.receive_json(timeout=REPLY_TIMEOUT_S)
        if first.get("type") != "config":
            verdict.problems.append(f"expected the config message first, got {first}")
            return verdict
        messages = ((offer_message(BROWSER_OFFER),) if case.real_offer_first else ()) \
            + case.messages
        for number, body in enumerate(messages):
            expected = expected_reply(body, state)
            began = time.monotonic()
            replies = await _exchange(ws, body, number)
            verdict.slowest_reply_s = max(verdict.slowest_reply_s, time.monotonic() - began)
            verdict.sent.append(body)
            verdict.replies.append([json.dumps(r)[:300] for r in replies])
            verdict.problems += _judge(body, expected, replies, state, verdict.outcomes)
            if case.real_offer_first and number == 0 and not state.answered:
                verdict.problems.append("the browser's own offer was not answered")
    return verdict


async def _exchange(ws: aiohttp.ClientWebSocketResponse, body: Any,
                    number: int) -> list[dict[str, Any]]:
    """Send ``body`` and a sentinel; the replies that came before the sentinel's error."""
    sentinel = f"{SENTINEL}-{number}"
    await ws.send_str(json.dumps(body))
    await ws.send_str(json.dumps({"type": sentinel}))
    replies: list[dict[str, Any]] = []
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await ws.receive(timeout=left)
        except TimeoutError:
            break
        if message.type != aiohttp.WSMsgType.TEXT:
            replies.append({"type": "closed", "how": str(message.type)})
            break
        reply = json.loads(message.data)
        if reply.get("type") == "ping":
            await ws.send_str(json.dumps({"type": "pong"}))
        elif reply.get("type") == "error" and sentinel in reply.get("error", ""):
            return replies
        else:
            replies.append(reply)
    replies.append({"type": "no-sentinel", "after_s": REPLY_TIMEOUT_S})
    return replies


def _judge(body: Any, expected: str, replies: list[dict[str, Any]], state: Negotiation,
           outcomes: list[str]) -> list[str]:
    kinds = [r.get("type") for r in replies]
    if "no-sentinel" in kinds or "closed" in kinds:
        outcomes.append("unanswered")
        return [f"the connection stopped answering: {replies[-1]}"]
    if not replies:
        outcomes.append("silence")
        return [] if expected == "silence" else [f"silence where an {expected} was owed"]
    if len(replies) > 1:
        outcomes.append("several")
        return [f"{len(replies)} replies to one message: {kinds}"]
    reply = replies[0]
    outcomes.append(str(reply.get("type")))
    if reply.get("type") == "error":
        problems = error_problems(str(reply.get("error")))
        if expected == "silence":
            problems.append(f"an error where silence was owed: {reply.get('error')!r}")
        return problems
    if reply.get("type") == "answer" and expected == "answer-or-error":
        sdp = str(reply.get("data", {}).get("sdp", ""))
        offer = body["data"]["sdp"]
        problems = answer_problems(sdp, offer)
        if not problems and not state.answered:
            state.mids = offer_mids(sdp)
        return problems
    return [f"a {reply.get('type')!r} reply where {expected} was owed"]


SDP = "application/sdp"
FRAGMENT = "application/trickle-ice-sdpfrag"


async def run_whep_case(http: aiohttp.ClientSession, base: str, case: WhepCase) -> Verdict:
    """POST the offer; PATCH each fragment to the resource it made; DELETE it."""
    verdict = Verdict()
    began = time.monotonic()
    async with http.post(f"{base}/whep", data=case.offer.encode(),
                         headers={"Content-Type": SDP}) as response:
        status, text = response.status, await response.text()
        location = response.headers.get("Location")
    verdict.slowest_reply_s = time.monotonic() - began
    verdict.sent.append({"POST": case.offer})
    verdict.replies.append([f"{status} {text[:200]!r}"])
    if status == 201:
        verdict.outcomes.append("answer")
        verdict.problems += answer_problems(text, case.offer)
        if location is None:
            verdict.problems.append("201 without a Location")
            return verdict
    else:
        verdict.outcomes.append("error")
        verdict.problems += _refusal_problems(status, text)
        if case.fragments:
            verdict.problems.append("the browser's own offer was refused")
        return verdict
    for fragment in case.fragments:
        candidates = [line[2:] for line in fragment.splitlines() if line.startswith("a=candidate:")]
        good = all(well_formed_candidate(c) for c in candidates)
        began = time.monotonic()
        async with http.patch(base + location, data=fragment.encode(),
                              headers={"Content-Type": FRAGMENT}) as response:
            status, text = response.status, await response.text()
        verdict.slowest_reply_s = max(verdict.slowest_reply_s, time.monotonic() - began)
        verdict.sent.append({"PATCH": fragment})
        verdict.replies.append([f"{status} {text[:200]!r}"])
        verdict.outcomes.append("silence" if status == 204 else "error")
        if good and status != 204:
            verdict.problems.append(f"a well-formed fragment got {status} {text!r}")
        elif not good:
            verdict.problems += _refusal_problems(status, text)
    async with http.delete(base + location) as response:
        if response.status != 200:
            verdict.problems.append(f"DELETE got {response.status}")
    return verdict


def _refusal_problems(status: int, text: str) -> list[str]:
    if not 400 <= status < 500:
        return [f"expected a 4xx refusal, got {status} {text[:200]!r}"]
    return error_problems(text)


async def with_deadline(run: Any, timeout_s: float = 3 * REPLY_TIMEOUT_S) -> Verdict:
    """``run`` (a case's coroutine), or a verdict that says it never finished."""
    try:
        result: Verdict = await asyncio.wait_for(run, timeout_s)
    except TimeoutError:
        return Verdict(problems=[f"the case did not finish in {timeout_s:g} s"])
    return result
