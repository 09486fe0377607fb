from __future__ import annotations

import pytest

from avatar_streaming import ProtocolError
from avatar_streaming.rtc.state import PeerEvent, PeerState, next_state

S, E = PeerState, PeerEvent


def test_a_peers_life() -> None:
    state = S.CONNECTING
    for event, expected in ((E.OFFER, S.NEGOTIATING), (E.ANSWERED, S.ANSWERED),
                            (E.MEDIA_UP, S.CONNECTED), (E.CLOSE, S.CLOSING),
                            (E.CLOSED, S.CLOSED)):
        state = next_state(state, event)
        assert state is expected


def test_a_rejected_offer_returns_to_connecting() -> None:
    assert next_state(S.NEGOTIATING, E.REJECTED) is S.CONNECTING


@pytest.mark.parametrize("state", [S.NEGOTIATING, S.ANSWERED, S.CONNECTED, S.CLOSED])
def test_a_second_offer_is_a_protocol_error(state: PeerState) -> None:
    with pytest.raises(ProtocolError, match="unexpected 'offer'"):
        next_state(state, E.OFFER)


def test_every_open_state_can_close() -> None:
    for state in (S.CONNECTING, S.NEGOTIATING, S.ANSWERED, S.CONNECTED):
        assert next_state(state, E.CLOSE) is S.CLOSING
    with pytest.raises(ProtocolError):
        next_state(S.CLOSED, E.CLOSE)
