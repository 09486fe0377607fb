"""Hypothesis strategies for what a broken or hostile client might send.

Two families. The unstructured one (``client_messages``): any text, any JSON, near-misses
of our protocol. The structured one (``signaling_cases``, ``whep_cases``) starts from
what the shipped page really sent from Chromium (``fixtures/``, recorded by
``tests.fixtures.capture``) and mutates it: lines of the offer deleted, repeated, swapped,
cut short or with a value replaced; fields of a candidate replaced, dropped or added;
messages of the right type with the wrong shape. What each must be answered with is
decided by ``tests.fuzz_oracle``.
"""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

FIXTURES = Path(__file__).parent / "fixtures"
BROWSER_OFFER = (FIXTURES / "chromium-offer.sdp").read_bytes().decode()
"""The offer the shipped page sent from Chromium, as it came (CRLF line ends)."""
BROWSER_CANDIDATES: list[dict[str, Any]] = json.loads(
    (FIXTURES / "chromium-candidates.json").read_text())["candidates"]
"""Its trickled candidates (RTCIceCandidateInit), in the order they came."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=12,
)

sdp_ish = st.lists(
    st.sampled_from(["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
                     "m=video 9 UDP/TLS/RTP/SAVPF 96",
                     "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:96 VP8/90000", "a=mid:0",
                     "a=ice-ufrag:abcd", "a=ice-pwd:0123456789012345678901",
                     "a=sendrecv",
                     "a=fingerprint:sha-256 00:11", "a=setup:actpass", "c=IN IP4 0.0.0.0"])
    | st.text(max_size=40), max_size=12).map("\r\n".join)

typed = st.fixed_dictionaries(
    {"type": st.sampled_from(["offer", "ice-candidate", "pong", "answer", "ping", "config",
                              "error", "", "OFFER"])},
    optional={"data": json_values
              | st.fixed_dictionaries({"type": st.sampled_from(["offer", "answer"]),
                                       "sdp": sdp_ish})
              | st.fixed_dictionaries({"candidate": st.text(max_size=80)},
                                      optional={"sdpMid": json_values,
                                                "sdpMLineIndex": json_values})},
)

client_messages = st.one_of(st.text(max_size=300), json_values.map(json.dumps),
                            typed.map(json.dumps))
"""Text frames a client could send: anything, any JSON, and near-misses of our protocol."""

# --- structured: mutations of what a real browser sent ----------------------------------

HOSTILE = st.sampled_from([
    "", "0", "-1", "1.5", "4294967295", "4294967296", "99999999999999999999", "65536",
    "NaN", "abc", "not_an_ip!!", "::1", "127.0.0.1", "0.0.0.0", "256.1.1.1", "x.local",
    ".local", "typ", "host", "relay", "candidate:", "a=", "=", ":", "\x00", "\u00e9t\u00e9",
    "\u202e", "a" * 300, "1e3", "UDP", "sctp", "application", "m=video", "IN IP6 ::",
    "sha-256", "sha-1 00", "actpass", "inactive",
]) | st.text(max_size=16)
"""Values a mutation puts in place of a real one: edges of numbers and addresses, keywords
out of place, control and bidirectional characters, and anything."""

MEDIA_KINDS = st.sampled_from(["audio", "video", "application", "text", "message", ""])
LINE_FAMILIES = st.sampled_from(["m=", "a=ice-ufrag", "a=ice-pwd", "a=fingerprint",
                                 "a=setup", "a=mid", "a=group", "a=rtpmap", "a=fmtp",
                                 "a=rtcp-fb", "a=extmap", "a=ssrc", "a=msid", "c=", "o=",
                                 "a=rtcp-mux", "a=sendrecv", "a=recvonly"])


@st.composite
def mutated_offers(draw: st.DrawFn) -> str:
    """The browser's offer with one to four mutations (line by line), CRLF or LF."""
    lines = BROWSER_OFFER.rstrip("\r\n").split("\r\n")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1)) if lines else 0
        op = draw(st.sampled_from(["delete", "repeat", "swap", "token", "value", "family",
                                   "insert", "kind", "cut"]))
        if not lines:
            lines.append(draw(HOSTILE))
        elif op == "delete":
            del lines[at]
        elif op == "repeat":
            lines.insert(at, lines[at])
        elif op == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif op == "token":  # one space-separated field of a line replaced
            fields = lines[at].split(" ")
            fields[draw(st.integers(0, len(fields) - 1))] = draw(HOSTILE)
            lines[at] = " ".join(fields)
        elif op == "value":  # what follows "x=" or "a=name:" replaced
            head, sep, _ = lines[at].partition(":") if lines[at].startswith("a=") \
                else lines[at].partition("=")
            lines[at] = head + (sep or "=") + draw(HOSTILE)
        elif op == "family":  # every line of one kind gone: no credentials, no m= ...
            family = draw(LINE_FAMILIES)
            lines = [line for line in lines if not line.startswith(family)]
        elif op == "insert":
            lines.insert(at, draw(HOSTILE | LINE_FAMILIES.map(lambda f: f + ":x")))
        elif op == "kind":  # a media section of another kind
            media = [i for i, line in enumerate(lines) if line.startswith("m=")]
            if media:
                i = media[at % len(media)]
                lines[i] = "m=" + draw(MEDIA_KINDS) + lines[i][len("m=video"):]
        else:  # cut: the text ends mid-line
            text = "\r\n".join(lines)
            lines = text[:draw(st.integers(0, len(text)))].split("\r\n")
    end = draw(st.sampled_from(["\r\n", "\n"]))
    return end.join(lines) + (end if draw(st.booleans()) else "")


@st.composite
def mutated_candidates(draw: st.DrawFn) -> str:
    """One of the browser's candidates, its fields replaced, dropped, added or cut short."""
    text = draw(st.sampled_from(BROWSER_CANDIDATES))["candidate"]
    for _ in range(draw(st.integers(0, 3))):
        fields = text.split(" ")
        at = draw(st.integers(0, len(fields) - 1))
        op = draw(st.sampled_from(["replace", "replace", "drop", "add", "cut", "prefix"]))
        if op == "replace":
            fields[at] = draw(HOSTILE)
        elif op == "drop":
            del fields[at]
        elif op == "add":
            fields.insert(at, draw(HOSTILE))
        elif op == "cut":
            fields = fields[:at]
        else:
            fields[0] = draw(st.sampled_from(["a=", "", "candidate", "CANDIDATE:", " "])) \
                + fields[0].removeprefix("candidate:")
        text = " ".join(fields)
    return text


@st.composite
def candidate_messages(draw: st.DrawFn) -> dict[str, Any]:
    """An ``ice-candidate`` message: a mutated candidate, mid and index right or wrong."""
    real = draw(st.sampled_from(BROWSER_CANDIDATES))
    data: dict[str, Any] = {"candidate": draw(mutated_candidates()),
                            "sdpMid": real.get("sdpMid"),
                            "sdpMLineIndex": real.get("sdpMLineIndex")}
    if draw(st.integers(0, 4)) == 0:
        field = draw(st.sampled_from(["sdpMid", "sdpMLineIndex"]))
        if draw(st.booleans()):
            del data[field]
        else:
            data[field] = draw(json_values)
    return {"type": "ice-candidate", "data": data}


def offer_message(sdp: Any) -> dict[str, Any]:
    return {"type": "offer", "data": {"type": "offer", "sdp": sdp}}


wrong_shapes = st.one_of(
    st.builds(lambda data: {"type": "offer", "data": data},
              json_values | st.just({"type": "answer", "sdp": BROWSER_OFFER})
              | st.just({"sdp": BROWSER_OFFER, "type": "pranswer"})),
    st.builds(lambda sdp: offer_message(sdp), json_values.filter(lambda v: not isinstance(v, str))),
    st.builds(lambda data: {"type": "ice-candidate", "data": data},
              json_values.filter(lambda v: v is not None and not isinstance(v, dict))),
    st.builds(lambda kind: {"type": kind, "data": offer_message(BROWSER_OFFER)["data"]},
              st.sampled_from(["Offer", "answer", "offer ", "", "ice_candidate"])),
)
"""Messages of (nearly) the right type whose payload has the wrong shape."""


@dataclass(frozen=True)
class SignalingCase:
    """What one client sends over a WebSocket of its own, in order. ``real_offer_first``:
    the browser's own offer goes first, so that the candidates meet a negotiated peer."""

    messages: tuple[Any, ...]
    real_offer_first: bool


signaling_cases = st.one_of(
    st.builds(lambda offer: SignalingCase((offer_message(offer),), False), mutated_offers()),
    st.builds(lambda found: SignalingCase(tuple(found), True),
              st.lists(candidate_messages(), min_size=1, max_size=4)),
    st.builds(lambda found: SignalingCase(tuple(found), False),
              st.lists(candidate_messages(), min_size=1, max_size=2)),  # before any offer
    st.builds(lambda shape: SignalingCase((shape,), bool(shape["type"] == "ice-candidate")),
              wrong_shapes),
)


@dataclass(frozen=True)
class WhepCase:
    """A WHEP player's offer, then (once it has a resource) PATCH bodies of candidates."""

    offer: str
    fragments: tuple[str, ...]


whep_cases = st.one_of(
    st.builds(lambda offer: WhepCase(offer, ()), mutated_offers()),
    st.builds(lambda found: WhepCase(BROWSER_OFFER, tuple(found)),
              st.lists(mutated_candidates().map(lambda c: "a=" + c.removeprefix("a=") + "\r\n"),
                       min_size=1, max_size=3)),
)


def draw_all(strategy: st.SearchStrategy[Any], count: int, *,
             derandomize: bool = False) -> list[Any]:
    """``count`` examples of ``strategy`` as Hypothesis's engine explores it (no shrinking:
    they are sent to a live server afterwards, which Hypothesis cannot drive).
    ``derandomize``: the same examples every run (the tests'); otherwise new ones each time
    (the benchmark's)."""
    from hypothesis import HealthCheck, given, settings

    out: list[Any] = []
    while len(out) < count:
        @settings(max_examples=min(10_000, count - len(out)), deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), derandomize=derandomize)
        @given(strategy)
        def collect(example: Any) -> None:
            out.append(example)

        collect()
    # The engine leaves some 60 cyclic objects per example: collected later, they would be
    # a pause of about a second in the middle of whatever the caller measures next.
    gc.collect()
    return out[:count]
