"""Node-style events on pyee, with listener errors that cannot break the media path."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from pyee.asyncio import AsyncIOEventEmitter

log = logging.getLogger(__name__)


class EventEmitter(AsyncIOEventEmitter):
    """``on``, ``once``, ``off`` / ``remove_listener``; handlers may be sync or async.

    A handler that raises is reported as an "error" event; with no "error"
    listener it is logged, never raised into the code that emitted (a failing
    recognizer callback must not stop a frame from being pushed).
    """

    def off(self, event: str, f: Callable[..., Any]) -> None:
        """Remove a listener, as Node's ``emitter.off``."""
        self.remove_listener(event, f)

    def emit(self, event: str, *args: Any, **kwargs: Any) -> bool:
        """As pyee's, but an "error" nobody listens to is logged instead of raised. pyee
        emits "error" itself, through this method, when a listener raises."""
        if event == "error" and not self.listeners("error"):
            error = args[0] if args else None
            log.error("unhandled error in a %s listener", type(self).__name__,
                      exc_info=error if isinstance(error, BaseException) else None)
            return False
        return super().emit(event, *args, **kwargs)

    async def emit_and_wait(self, event: str, *args: Any) -> None:
        """Call the listeners of ``event`` in turn, awaiting those that are async, before
        returning: for events the caller must let its listeners act on first (a room's
        "room-opened" comes before its first peer gets its config). A listener that raises
        is logged and the next one still runs."""
        for listener in self.listeners(event):
            try:
                result = listener(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("a %r listener of %s failed", event, type(self).__name__)
