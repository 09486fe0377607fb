"""Relaying through an SFU: our streams published once into a Janus VideoRoom, and the
room's users' microphones brought back (``webrtc.sfu``)."""

from __future__ import annotations

from .relay import JanusRelay, RelayState

__all__ = ["JanusRelay", "RelayState"]
