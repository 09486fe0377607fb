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


@pytest.mark.parametrize("event", [E.FAILED, E.LOST])
def test_a_failed_or_lost_connection_closes(event: PeerEvent) -> None:
    for state in (S.ANSWERED, S.CONNECTED):
        assert next_state(state, event) is S.CLOSING
    for state in (S.CONNECTING, S.NEGOTIATING, S.CLOSING, S.CLOSED):
        with pytest.raises(ProtocolError, match=f"unexpected '{event.value}'"):
            next_state(state, event)


def test_closing_is_left_only_for_closed() -> None:
    assert next_state(S.CLOSING, E.CLOSED) is S.CLOSED
    for event in E:
        if event is not E.CLOSED:
            with pytest.raises(ProtocolError):
                next_state(S.CLOSING, event)
