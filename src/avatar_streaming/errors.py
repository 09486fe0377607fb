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
    │   ├── AudioQueueFullError    pushing more audio than the queue holds
    │   ├── RoomLimitError         one room more than maxRooms, or closing the default room
    │   └── CaptionError           a caption that is not text, or of a role we do not know
    └── RemoteError
        ├── ProtocolError          a signaling message that is malformed or out of order
        ├── NegotiationError       an offer or candidate that cannot be applied
        ├── RoomError              a room that does not exist, or one too many
        └── SfuError               the SFU (Janus) refused a request or answered nonsense
            └── SfuSessionLost     the SFU forgot our session (restarted, timed out) or is gone
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


class RoomLimitError(CallerError):
    """Opening one room more than ``webrtc.rooms.maxRooms``, or closing the default room."""


class CaptionError(CallerError):
    """A caption whose text is not a string (or is too long), or whose role is neither
    "user" nor "avatar"."""


class RemoteError(AvatarStreamingError):
    """The remote peer sent something we cannot use.

    ``str(error)`` is what goes back to the client in ``{"type": "error"}``.
    """


class ProtocolError(RemoteError):
    """A signaling message is malformed, unknown or out of order."""


class NegotiationError(RemoteError):
    """An offer or ICE candidate could not be applied."""


class RoomError(RemoteError):
    """A client named a room that is not open (and may not be opened), or one room too many.

    ``status`` is the HTTP status that says so (404, 503).
    """

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class SfuError(RemoteError):
    """The SFU refused a request or answered something we cannot use.

    ``code`` is the SFU's own error code when it sent one (Janus: 458 for an unknown session,
    426 for an unknown VideoRoom room, ...).
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class SfuSessionLost(SfuError):
    """Our session on the SFU is gone (the SFU restarted, timed it out, or cannot be reached);
    the relay starts over with a new one."""
