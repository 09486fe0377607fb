"""Fails loudly when an aiortc or aioice upgrade moves what rtc/_aiortc_compat.py relies on."""

from __future__ import annotations

import inspect

import aioice.ice

from avatar_streaming.rtc import _aiortc_compat


def test_aioice_still_looks_up_host_addresses_through_the_module_function() -> None:
    source = inspect.getsource(aioice.ice.Connection.gather_candidates)
    assert "get_host_addresses(" in source, "aioice no longer calls get_host_addresses"
    params = list(inspect.signature(_aiortc_compat._original_get_host_addresses).parameters)
    assert params == ["use_ipv4", "use_ipv6"]


def test_the_lookup_is_routed_through_our_context_variable() -> None:
    assert aioice.ice.get_host_addresses is _aiortc_compat._get_host_addresses
    token = _aiortc_compat.HOST_ADDRESSES.set(("127.0.0.1", "::1"))
    try:
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
    finally:
        _aiortc_compat.HOST_ADDRESSES.reset(token)
