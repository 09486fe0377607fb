"""Where ICE may go: the host addresses we gather on, and the remote candidates we try.

aioice gathers on every interface but loopback. ``gathering_on`` lets one
negotiation choose its addresses (loopback included); when they are all
loopback, ``allows_remote`` and ``filter_offer_candidates`` keep connectivity
checks off every non-loopback address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from . import _aiortc_compat


@contextmanager
def gathering_on(addresses: Sequence[str] | None) -> Iterator[None]:
    """ICE gathering started inside this block uses only ``addresses`` (None: aioice's choice)."""
    if not addresses:
        yield
        return
    with _aiortc_compat.host_addresses(addresses):
        yield


def loopback_only(addresses: Sequence[str] | None) -> bool:
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses or ())


def candidate_address(candidate: str) -> str | None:
    """The connection address of an SDP candidate attribute (``candidate:...``), if it parses."""
    parts = candidate.removeprefix("a=").split()
    return parts[4] if len(parts) >= 8 else None


def allows_remote(candidate: str, local: Sequence[str] | None) -> bool:
    """Whether a remote candidate may be tried from our ``local`` host addresses."""
    if not loopback_only(local):
        return True
    address = candidate_address(candidate)
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:  # an mDNS name (*.local) or garbage
        return False


def filter_offer_candidates(sdp: str, local: Sequence[str] | None) -> str:
    """The offer without the candidates ``allows_remote`` refuses."""
    if not loopback_only(local):
        return sdp
    lines = sdp.splitlines()
    kept = [line for line in lines
            if not line.startswith("a=candidate:") or allows_remote(line, local)]
    return "\r\n".join(kept) + "\r\n"
