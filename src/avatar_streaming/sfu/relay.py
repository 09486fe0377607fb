"""Relay through Janus: publish the shared streams once into a VideoRoom, hear its users.

The relay keeps one Janus session. In it, one publisher handle publishes our video
and audio (the same encoded payloads every browser viewer gets: nothing is encoded
again), and one subscriber handle per other publisher that sends audio brings that
user's microphone back as "incoming-audio" with ``peer_id`` ``janus-<feed id>``
(Janus's id of the user's publisher; ``status()`` maps it to their display name).

When the session is lost (Janus restarted or unreachable, our session timed out,
our connection to it failed) the relay starts over, with backoff: a new session,
the room created again if need be, published again, subscribed again.
``stop()`` leaves the room (detaches the handles, destroys the session) and leaves
no task behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable
from typing import Any

from aiortc.exceptions import InternalError, InvalidStateError, OperationError

from ..config import JanusConfig, WebRTCConfig
from ..errors import SfuError, SfuSessionLost
from ..rtc.connection import PeerMedia
from . import videoroom
from .janus import JanusEvent, JanusSession, to_the_end
from .peers import Publication, Subscription

log = logging.getLogger(__name__)

_RECOVERABLE = (SfuError, OSError, TimeoutError, ValueError, KeyError, TypeError,
                OperationError, InternalError, InvalidStateError)
"""What Janus (a reply that does not hold what it should) or a failed negotiation raise."""
_CONNECT_S = 15.0
"""Our publication's connection (ICE, DTLS) must be up within this; else start over."""
_HEALTHY_S = 10.0
"""Published this long, the relay had recovered: the next loss retries at once."""


class RelayState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    PUBLISHED = "published"  # our media flows into the room: others can subscribe
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


class JanusRelay:
    """Publishes into ``config.room`` on the Janus at ``config.url``; see the module."""

    def __init__(self, config: JanusConfig, webrtc: WebRTCConfig, media: PeerMedia, *,
                 backoff_s: tuple[float, float] = (0.5, 10.0), keepalive_s: float = 25.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._webrtc = webrtc
        self._media = media
        self._backoff = backoff_s
        self._keepalive_s = keepalive_s
        self._clock = clock
        self.state = RelayState.IDLE
        self.feed_id: int | None = None
        self.publications = 0
        """How many times we published (1 + the reconnections that got through)."""
        self._subscriptions: dict[int, Subscription] = {}
        self._subscribing: dict[int, asyncio.Task[None]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self.state is RelayState.IDLE:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="janus-relay")

    async def stop(self) -> None:
        """Leave the room and end the session; every task of ours is gone when this returns."""
        self.state = RelayState.STOPPED
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def status(self) -> dict[str, Any]:
        return {"type": "janus", "room": self.config.room, "state": self.state.value,
                "feedId": self.feed_id, "publications": self.publications,
                "users": {s.feed.user_id: s.feed.display for s in self._subscriptions.values()}}

    async def _run(self) -> None:
        delay = self._backoff[0]
        while True:
            published_at: list[float] = []
            try:
                await self._serve(published_at)
            except _RECOVERABLE as exc:
                log.warning("janus relay (%s, room %s): %s; retrying in %.1f s",
                            self.config.url, self.config.room, exc, delay)
            except Exception:  # a bug of ours: log it, and keep the relay alive
                log.exception("janus relay: unexpected error; retrying in %.1f s", delay)
            if published_at and self._clock() - published_at[0] > _HEALTHY_S:
                delay = self._backoff[0]
            self.state = RelayState.RECONNECTING
            self.feed_id = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])

    async def _serve(self, published_at: list[float]) -> None:
        """One session: join, publish, follow the room until the session is lost (when it
        published, the time goes into ``published_at``)."""
        if self.state is not RelayState.RECONNECTING:
            self.state = RelayState.CONNECTING
        session = JanusSession(self.config.url, token=self.config.token,
                               api_secret=self.config.api_secret,
                               keepalive_s=self._keepalive_s)
        publication: Publication | None = None
        try:
            await session.open()
            publication = Publication(await session.attach(videoroom.PLUGIN), self.config,
                                      self._webrtc, self._media)
            feeds = await publication.join()
            await publication.publish()
            await publication.wait_connected(_CONNECT_S)
            self.feed_id = publication.feed_id
            self.publications += 1
            self.state = RelayState.PUBLISHED
            published_at.append(self._clock())
            for feed in feeds:
                self._subscribe(session, publication, feed)
            await self._follow(session, publication)
        finally:  # even when stop() cancelled us in the middle of leaving
            await to_the_end(self._leave_quietly(session, publication))

    async def _follow(self, session: JanusSession, publication: Publication) -> None:
        """Track the room's publishers until the session or our connection is lost."""
        failed = asyncio.ensure_future(publication.failed.wait())
        next_event: asyncio.Future[JanusEvent] | None = None
        try:
            while True:
                next_event = asyncio.ensure_future(publication.handle.events.get())
                await asyncio.wait((next_event, failed), return_when=asyncio.FIRST_COMPLETED)
                if failed.done():
                    raise SfuSessionLost("janus: our published connection failed")
                self._on_event(session, publication, next_event.result())
        finally:
            for future in (failed, next_event):
                if future is not None:
                    future.cancel()
            await asyncio.gather(failed, *(f for f in (next_event,) if f is not None),
                                 return_exceptions=True)

    def _on_event(self, session: JanusSession, publication: Publication,
                  event: JanusEvent) -> None:
        if event.kind == "lost":
            raise SfuSessionLost(f"janus: session lost ({event.data.get('reason')})")
        if event.kind == "hangup":
            raise SfuSessionLost(f"janus hung up our publication ({event.data.get('reason')})")
        if event.kind != "event":
            return
        for feed in videoroom.audio_feeds(event.data, self.config.display):
            self._subscribe(session, publication, feed)
        gone = videoroom.gone_feed(event.data)
        if gone is not None:
            self._unsubscribe(gone)

    def _subscribe(self, session: JanusSession, publication: Publication,
                   feed: videoroom.Feed) -> None:
        if feed.id in self._subscriptions or feed.id in self._subscribing:
            return
        subscription = Subscription(session, feed, self.config, self._webrtc, self._media)
        self._subscriptions[feed.id] = subscription
        self._subscribing[feed.id] = asyncio.get_running_loop().create_task(
            self._start_subscription(subscription, publication.private_id),
            name=f"janus-subscribe-{feed.id}")

    async def _start_subscription(self, subscription: Subscription,
                                  private_id: int | None) -> None:
        feed = subscription.feed
        try:
            await subscription.start(private_id)
        except _RECOVERABLE as exc:
            log.warning("janus: could not receive the audio of %s (%r): %s", feed.id,
                        feed.display, exc)
            self._subscriptions.pop(feed.id, None)
            await subscription.close()
        finally:
            self._subscribing.pop(feed.id, None)

    def _unsubscribe(self, feed_id: int) -> None:
        subscription = self._subscriptions.pop(feed_id, None)
        if subscription is None:
            return
        log.info("janus: %s (%r) stopped publishing", feed_id, subscription.feed.display)
        task = self._subscribing.pop(feed_id, None)
        if task is not None:
            task.cancel()
        closing = asyncio.get_running_loop().create_task(
            subscription.close(), name=f"janus-unsubscribe-{feed_id}")
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _leave_quietly(self, session: JanusSession,
                             publication: Publication | None) -> None:
        with contextlib.suppress(Exception):  # best effort: Janus may be gone
            async with asyncio.timeout(3):
                await self._leave(session, publication)

    async def _leave(self, session: JanusSession, publication: Publication | None) -> None:
        """Close every subscription and the publication, detach, destroy the session."""
        tasks = list(self._subscribing.values())
        self._subscribing.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        subscriptions = list(self._subscriptions.values())
        self._subscriptions.clear()
        await asyncio.gather(*(s.close() for s in subscriptions), *self._closing,
                             return_exceptions=True)
        if publication is not None:
            await publication.close()
            await publication.handle.detach()
        await session.destroy()
