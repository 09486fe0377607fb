from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from avatar_streaming.errors import ProtocolError
from avatar_streaming.signaling.protocol import (
    ClientIceCandidate,
    Offer,
    Pong,
    parse_client_message,
)
from tests.fuzzing import client_messages


@settings(max_examples=2_000, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(client_messages)
def test_any_text_parses_to_a_message_or_a_protocol_error(text: str) -> None:
    try:
        message = parse_client_message(text)
    except ProtocolError as exc:
        assert str(exc), "an error the client can read"
    else:
        assert isinstance(message, Offer | Pong | ClientIceCandidate)
