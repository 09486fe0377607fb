"""The checks that run before aiortc sees a remote offer or candidate."""

from __future__ import annotations

import pytest

from avatar_streaming import NegotiationError
from avatar_streaming.rtc.sdp import Candidate, check_offer, parse_candidate

OFFER = "\r\n".join([
    "v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
    "m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=mid:0", "a=recvonly",
    "a=rtpmap:96 VP8/90000", "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv",
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32), "a=setup:actpass",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:1", "a=sendrecv",
    "a=rtpmap:111 opus/48000/2", "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv",
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32), "a=setup:actpass", ""])


def test_a_good_offer_names_its_kinds_and_mids() -> None:
    checked = check_offer(OFFER)
    assert checked.kinds == {"video", "audio"} and checked.mids == ("0", "1")


@pytest.mark.parametrize(("sdp", "expected"), [
    ("garbage", "expected SDP text starting with 'v=0', got 'garbage'"),
    ("", "expected SDP text"),
    ("v=0\r\ns=-\r\n", "expected an audio or video media section (m=), got none"),
    (OFFER.replace("m=video", "m=text").replace("m=audio", "m=application"),
     "got text, application"),
    (OFFER.replace("a=ice-pwd:abcdefghijklmnopqrstuv\r\n", "", 1),
     "expected ICE credentials (a=ice-ufrag and a=ice-pwd) for media section 0 (video)"),
    ("\r\n".join(line for line in OFFER.split("\r\n") if not line.startswith("a=fingerprint")),
     "expected a DTLS fingerprint (a=fingerprint) for media section 0"),
    (OFFER.replace("m=audio", "m=application"),
     "expected audio and video media sections only, got 'application' at section 1"),
    (OFFER.replace("a=mid:1", "a=mid:0"), "expected each media section's a=mid to be its own, "
                                          "got '0' 2 times"),
    (OFFER.replace("BUNDLE 0 1", "BUNDLE 0 1 2"),
     "expected a=group:BUNDLE to name media sections by their a=mid, got ['2'] that none has"),
])
def test_offers_we_cannot_serve_say_what_they_lack(sdp: str, expected: str) -> None:
    with pytest.raises(NegotiationError) as caught:
        check_offer(sdp)
    assert expected in str(caught.value)


def test_a_good_candidate_keeps_every_field() -> None:
    ice = parse_candidate(Candidate(
        "a=candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 10.0.0.2 "
        "rport 61665 generation 0", "0", 0))
    assert (ice.foundation, ice.component, ice.protocol, ice.priority, ice.ip, ice.port,
            ice.type) == ("842163049", 1, "udp", 1677729535, "203.0.113.7", 61665, "srflx")
    assert (ice.relatedAddress, ice.relatedPort, ice.sdpMid, ice.sdpMLineIndex) == \
        ("10.0.0.2", 61665, "0", 0)
    mdns = parse_candidate(Candidate("candidate:1 1 UDP 2122260223 "
                                     "4b8c5b5e-1a2b.local 5000 typ host", "0"))
    assert mdns.ip.endswith(".local") and mdns.protocol == "udp"


@pytest.mark.parametrize(("text", "expected"), [
    ("candidate:garbage", "foundation component transport priority address port typ type"),
    ("candidate:1 1 udp 1 not_an_ip!! 5000 typ host", "got 'not_an_ip!!'"),
    ("candidate:1 1 udp -5 127.0.0.1 5000 typ host", "priority of 0-4294967295, got '-5'"),
    ("candidate:1 1 udp 4294967296 127.0.0.1 5000 typ host", "priority"),
    ("candidate:1 1 udp 1 127.0.0.1 70000 typ host", "port of 0-65535, got '70000'"),
    ("candidate:1 0 udp 1 127.0.0.1 5000 typ host", "component of 1-256, got '0'"),
    ("candidate:1 1 udp 1 127.0.0.1 5000 type host", "foundation component"),
    ("candidate:1 1 udp 1 .local 5000 typ host", "got '.local'"),
    ("candidate:1  1 udp 1 127.0.0.1 5000 typ host", "one space apart"),
    ("candidate:a!b 1 udp 1 127.0.0.1 5000 typ host", "foundation of 1-32 letters"),
    ("candidate:1 1 udp 1 127.0.0.1 5\u00b2 typ host", "port of 0-65535, got '5\u00b2'"),
    ("candidate:1 1 udp \u0661 127.0.0.1 5000 typ host", "priority"),
    ("candidate:1 1 udp 1 127.0.0.1 5000 typ host generation", "got 'generation' alone"),
    ("candidate:1 1 udp 1 127.0.0.1 5000 typ srflx raddr x rport 1", "raddr an IP address"),
    ("candidate:1 1 udp 1 127.0.0.1 5000 typ srflx raddr ::1 rport y", "rport a port"),
])
def test_bad_candidates_say_what_was_expected(text: str, expected: str) -> None:
    with pytest.raises(NegotiationError) as caught:
        parse_candidate(Candidate(text, "0"))
    assert expected in str(caught.value)
    assert "expected 'candidate:' then" in str(caught.value)
