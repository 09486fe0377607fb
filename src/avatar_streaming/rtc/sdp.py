"""What a remote peer's offer and candidates must hold before anything is built on them.

Pure checks, in the remote's words: an offer that does not parse, serves no media, or
lacks ICE credentials or a DTLS fingerprint, and a candidate that is not an SDP
candidate attribute, raise NegotiationError saying what was expected and what came.
aiortc's own parser accepts such input (``"garbage"`` parses as an SDP with no media),
so these run first.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from aiortc import RTCIceCandidate
from aiortc.sdp import SessionDescription

from ..errors import NegotiationError

MEDIA_KINDS = ("audio", "video")
CANDIDATE_TYPES = ("host", "srflx", "prflx", "relay")
TRANSPORTS = ("udp", "tcp")


@dataclass(frozen=True)
class CheckedOffer:
    """What a checked offer holds that the peer needs again."""

    kinds: frozenset[str]
    """The media kinds it asks for: ``"audio"``, ``"video"``."""
    mids: tuple[str, ...]
    """Each media section's ``a=mid``, in order: what its candidates may name."""


def check_offer(sdp: str) -> CheckedOffer:
    """The offer's media kinds and mids, once it is known to hold what a peer needs."""
    if not sdp.lstrip().startswith("v=0"):
        raise NegotiationError(f"offer: expected SDP text starting with 'v=0', got "
                               f"{_preview(sdp)}")
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc fails with asserts and index errors alike
        raise NegotiationError(f"offer: expected SDP that parses, got an error at "
                               f"{type(exc).__name__} {exc}".rstrip()) from None
    served = [m for m in description.media if m.kind in MEDIA_KINDS]
    if not served:
        kinds = ", ".join(m.kind for m in description.media) or "none"
        raise NegotiationError(f"offer: expected an audio or video media section (m=), "
                               f"got {kinds}")
    for index, media in enumerate(description.media):
        if media.kind not in MEDIA_KINDS:  # a data channel, say: nothing here would serve it
            raise NegotiationError(f"offer: expected audio and video media sections only, "
                                   f"got {media.kind or 'no kind'!r} at section {index}")
    for index, media in enumerate(description.media):
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise NegotiationError(f"offer: expected ICE credentials (a=ice-ufrag and "
                                   f"a=ice-pwd) for media section {index} ({media.kind}), "
                                   f"got none")
        if media.dtls is None or not media.dtls.fingerprints:
            raise NegotiationError(f"offer: expected a DTLS fingerprint (a=fingerprint) for "
                                   f"media section {index} ({media.kind}), got none")
    mids = [m.rtp.muxId for m in description.media]
    for mid in mids:
        if mid and mids.count(mid) > 1:
            raise NegotiationError(f"offer: expected each media section's a=mid to be its "
                                   f"own, got {mid!r} {mids.count(mid)} times")
    for group in description.group:
        unknown = [item for item in group.items if item not in mids]
        if unknown:
            raise NegotiationError(f"offer: expected a=group:{group.semantic} to name media "
                                   f"sections by their a=mid, got {unknown} that none has")
    return CheckedOffer(frozenset(m.kind for m in served),
                        tuple(mids))


@dataclass(frozen=True)
class Candidate:
    """A remote candidate, as plain values: what the signaling or WHEP layer hands a peer."""

    text: str | None
    """The candidate attribute (``candidate:...``, ``a=`` optional); None: no more."""
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None


def parse_candidate(candidate: Candidate) -> RTCIceCandidate:
    """aiortc's candidate for ``candidate.text``, checked field by field (RFC 8839 5.1:
    fields one space apart, numbers in ASCII digits, extensions in name-value pairs)."""
    text = (candidate.text or "").strip()
    body = text.removeprefix("a=")
    if not body.startswith("candidate:"):
        raise _bad(text, "foundation component transport priority address port typ type")
    fields = body.removeprefix("candidate:").split(" ")
    if len(fields) < 8 or fields[6] != "typ" or "" in fields:
        raise _bad(text, "foundation component transport priority address port typ type, "
                         "one space apart")
    foundation, component, transport, priority, address, port, _, kind = fields[:8]
    if not _FOUNDATION.fullmatch(foundation):
        raise _bad(text, f"a foundation of 1-32 letters, digits, '+' or '/', got {foundation!r}")
    if _number(component, 256) in (None, 0):
        raise _bad(text, f"a component of 1-256, got {component!r}")
    if transport.lower() not in TRANSPORTS:
        raise _bad(text, f"transport udp or tcp, got {transport!r}")
    if _number(priority, 2**32 - 1) is None:
        raise _bad(text, f"a priority of 0-4294967295, got {priority!r}")
    if not _is_address(address):
        raise _bad(text, f"an IP address or an mDNS name (.local), got {address!r}")
    if _number(port, 65535) is None:
        raise _bad(text, f"a port of 0-65535, got {port!r}")
    if kind not in CANDIDATE_TYPES:
        raise _bad(text, f"a type of {', '.join(CANDIDATE_TYPES)}, got {kind!r}")
    ice = RTCIceCandidate(component=int(component), foundation=foundation, ip=address,
                          port=int(port), priority=int(priority), protocol=transport.lower(),
                          type=kind)
    extras = fields[8:]
    if len(extras) % 2:
        raise _bad(text, f"extensions in name-value pairs, got {extras[-1]!r} alone")
    for key, value in zip(extras[::2], extras[1::2], strict=True):
        if key == "raddr":
            if not _is_address(value):
                raise _bad(text, f"raddr an IP address or an mDNS name, got {value!r}")
            ice.relatedAddress = value
        elif key == "rport":
            related_port = _number(value, 65535)
            if related_port is None:
                raise _bad(text, f"rport a port of 0-65535, got {value!r}")
            ice.relatedPort = related_port
        elif key == "tcptype":
            ice.tcpType = value
    ice.sdpMid = candidate.sdp_mid
    ice.sdpMLineIndex = candidate.sdp_mline_index
    return ice


_FOUNDATION = re.compile("[A-Za-z0-9+/]{1,32}")
_DIGITS = re.compile("[0-9]{1,10}")


def _number(text: str, largest: int) -> int | None:
    """``text`` as a number of 0 to ``largest`` in ASCII digits (str.isdigit takes any
    script's digits, and superscripts that int() refuses), or None."""
    if not _DIGITS.fullmatch(text) or int(text) > largest:
        return None
    return int(text)


def _is_address(address: str) -> bool:
    if address.endswith(".local") and len(address) > len(".local"):
        return True
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _bad(text: str, expected: str) -> NegotiationError:
    return NegotiationError(f"ice-candidate: expected 'candidate:' then {expected}; "
                            f"got {_preview(text)}")


def _preview(text: str) -> str:
    return repr(text[:80] + ("..." if len(text) > 80 else ""))
