"""The recognizer, and how it runs: off the event loop, one utterance at a time, bounded.

A recognizer is anything with ``transcribe(samples) -> str`` (WhisperRecognizer is the
real one). It is slow and may fail or hang, so ``RecognizerRunner`` calls it in a thread
of its own and waits at most ``timeout_s``: media and signaling go on meanwhile. A call
that never comes back cannot be stopped (Python threads cannot be killed); its thread
is a daemon, so it never holds the process at exit, and after ``max_stuck`` such calls
the runner refuses work instead of starting more threads that would hang too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Protocol

from ..errors import AvatarStreamingError
from .detect import Samples

log = logging.getLogger(__name__)


class Recognizer(Protocol):
    def transcribe(self, samples: Samples) -> str:
        """The text spoken in ``samples`` (16 kHz mono float in [-1, 1]); called in a worker
        thread, one call at a time."""


class RecognitionError(AvatarStreamingError):
    """The recognizer raised, took longer than its timeout, or is stuck."""


class RecognizerRunner:
    def __init__(self, recognizer: Recognizer, *, timeout_s: float = 20.0,
                 max_stuck: int = 2) -> None:
        self.recognizer = recognizer
        self.timeout_s = timeout_s
        self.max_stuck = max_stuck
        self.stuck = 0
        """Calls that passed their timeout and have not returned yet."""
        self._threads: set[threading.Thread] = set()

    async def transcribe(self, samples: Samples) -> str:
        """What the recognizer heard; RecognitionError when it fails, hangs or is stuck."""
        if self.stuck >= self.max_stuck:
            raise RecognitionError(f"recognizer stuck: expected its calls to return, but "
                                   f"{self.stuck} are still running past {self.timeout_s:g} s")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str] = loop.create_future()
        thread = threading.Thread(target=self._work, args=(samples, loop, done),
                                  name="recognizer", daemon=True)
        self._threads.add(thread)
        thread.start()
        try:
            return await asyncio.wait_for(asyncio.shield(done), self.timeout_s)
        except TimeoutError:
            self.stuck += 1
            done.add_done_callback(self._returned_late)
            log.error("recognizer: no transcript after %.1f s (%d calls stuck)",
                      self.timeout_s, self.stuck)
            raise RecognitionError(f"recognizer timeout: expected a transcript within "
                                   f"{self.timeout_s:g} s, got none") from None
        except RecognitionError:
            raise
        except Exception as exc:
            log.warning("recognizer raised %s: %s", type(exc).__name__, exc)
            raise RecognitionError(f"recognizer failed: {type(exc).__name__}: {exc}") from exc

    def _returned_late(self, _done: asyncio.Future[str]) -> None:
        self.stuck -= 1
        log.info("recognizer: a stuck call returned (%d still stuck)", self.stuck)

    def _work(self, samples: Samples, loop: asyncio.AbstractEventLoop,
              done: asyncio.Future[str]) -> None:
        try:
            text: str | None = self.recognizer.transcribe(samples)
            error: BaseException | None = None
        except BaseException as exc:  # reported to the caller, not lost in the thread
            text, error = None, exc
        try:
            loop.call_soon_threadsafe(_settle, done, text, error)
        except RuntimeError:  # the loop is gone: nobody waits any more
            pass
        finally:
            self._threads.discard(threading.current_thread())

    @property
    def running(self) -> int:
        """Threads still in a call (stuck ones included)."""
        return sum(1 for thread in list(self._threads) if thread.is_alive())

    async def drain(self, timeout_s: float = 5.0) -> int:
        """Wait up to ``timeout_s`` for the calls under way; how many are still running."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        for thread in list(self._threads):
            await asyncio.to_thread(thread.join, max(0.0, deadline - loop.time()))
        return self.running


def _settle(done: asyncio.Future[str], text: str | None, error: BaseException | None) -> None:
    if done.done():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(text if isinstance(text, str) else str(text))
