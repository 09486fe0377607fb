"""Every place we reach into aiortc's or aioice's internals, in one module.

tests/unit/rtc/test_aiortc_compat.py fails loudly when an upgrade moves these.
Tested with aiortc 1.16 and aioice 0.13 (see the pins in pyproject.toml).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar

import aioice.ice

HOST_ADDRESSES: ContextVar[tuple[str, ...] | None] = ContextVar(
    "avatar_streaming_ice_host_addresses", default=None)
"""Host addresses for ICE gathering in the current context; None leaves aioice's default."""

_original_get_host_addresses: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = HOST_ADDRESSES.get()
    if chosen is None:
        return _original_get_host_addresses(use_ipv4, use_ipv6)
    wanted = {4: use_ipv4, 6: use_ipv6}
    return [a for a in chosen if wanted[ipaddress.ip_address(a).version]]


def install() -> None:
    """Route aioice's host address lookup through HOST_ADDRESSES (idempotent)."""
    aioice.ice.get_host_addresses = _get_host_addresses


install()
