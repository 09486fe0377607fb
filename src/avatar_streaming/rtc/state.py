"""A peer's life as one transition table.

::

    CONNECTING --offer--> NEGOTIATING --answered--> ANSWERED --media-up--> CONNECTED
        ^                      |
        +------rejected--------+        (an offer that cannot be applied; the client may retry)

    any state but CLOSING/CLOSED --close--> CLOSING --closed--> CLOSED
    ANSWERED / CONNECTED --failed--> CLOSING               (ICE or DTLS failed)
    ANSWERED / CONNECTED --lost--> CLOSING                 (the remote hung up its connection)

Every change of ``Peer.state`` goes through ``next_state``; an event the table does not
have for the current state is a ProtocolError, never a silent no-op.
"""

from __future__ import annotations

from enum import Enum

from ..errors import ProtocolError


class PeerState(Enum):
    CONNECTING = "connecting"
    """Signaling is open; waiting for the client's offer."""
    NEGOTIATING = "negotiating"
    """Applying the offer and gathering our candidates."""
    ANSWERED = "answered"
    """The answer is sent; ICE and DTLS are running."""
    CONNECTED = "connected"
    """Media flows."""
    CLOSING = "closing"
    CLOSED = "closed"


class PeerEvent(Enum):
    OFFER = "offer"
    REJECTED = "rejected"
    ANSWERED = "answered"
    MEDIA_UP = "media-up"
    FAILED = "failed"
    """ICE or DTLS failed: no checks succeeded, or consent expired (the network is gone)."""
    LOST = "lost"
    """The connection closed beneath us while ICE was fine: the remote closed it (DTLS
    close_notify)."""
    CLOSE = "close"
    CLOSED = "closed"


S, E = PeerState, PeerEvent
TRANSITIONS: dict[tuple[PeerState, PeerEvent], PeerState] = {
    (S.CONNECTING, E.OFFER): S.NEGOTIATING,
    (S.NEGOTIATING, E.REJECTED): S.CONNECTING,
    (S.NEGOTIATING, E.ANSWERED): S.ANSWERED,
    (S.ANSWERED, E.MEDIA_UP): S.CONNECTED,
    (S.ANSWERED, E.FAILED): S.CLOSING,
    (S.CONNECTED, E.FAILED): S.CLOSING,
    (S.ANSWERED, E.LOST): S.CLOSING,
    (S.CONNECTED, E.LOST): S.CLOSING,
    **{(state, E.CLOSE): S.CLOSING for state in S if state not in (S.CLOSING, S.CLOSED)},
    (S.CLOSING, E.CLOSED): S.CLOSED,
}


def next_state(state: PeerState, event: PeerEvent) -> PeerState:
    """The state after ``event``; ProtocolError if ``event`` cannot happen in ``state``."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise ProtocolError(
            f"unexpected {event.value!r} while the peer is {state.value!r}"
        ) from None
