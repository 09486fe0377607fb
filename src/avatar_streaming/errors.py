"""The exception tree.

Errors caused by our caller (a bad frame, a bad config) and errors caused by
the remote peer (a bad message, SDP that cannot be applied) are separate
branches. Caller errors are also ``ValueError``\\s, as the API promises. Remote
errors carry the text that goes back to the client in an ``error`` message::

    AvatarStreamingError
    ├── CallerError (ValueError)
    │   ├── ConfigError            bad configuration key or value
    │   ├── FrameError             a VideoFrame that does not fit its declared shape
    │   ├── ChunkError             an AudioChunk that does not fit its declared shape
    │   └── AudioQueueFullError    pushing more audio than the queue holds
    └── RemoteError
        ├── ProtocolError          a signaling message that is malformed or out of order
        └── NegotiationError       an offer or candidate that cannot be applied
"""

from __future__ import annotations


class AvatarStreamingError(Exception):
    """Base of every error this package raises on purpose."""


class CallerError(AvatarStreamingError, ValueError):
    """Our caller passed something wrong; the message says what was expected and what came."""


class ConfigError(CallerError):
    """A configuration key is unknown or its value is invalid."""


class FrameError(CallerError):
    """A video frame does not fit its declared shape or format."""


class ChunkError(CallerError):
    """An audio chunk does not fit its declared shape or format."""


class AudioQueueFullError(CallerError):
    """The pushed audio would overflow the playback queue; nothing of it was queued."""


class RemoteError(AvatarStreamingError):
    """The remote peer sent something we cannot use.

    ``str(error)`` is what goes back to the client in ``{"type": "error"}``.
    """


class ProtocolError(RemoteError):
    """A signaling message is malformed, unknown or out of order."""


class NegotiationError(RemoteError):
    """An offer or ICE candidate could not be applied."""

