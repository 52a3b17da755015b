"""The in-process side of the feed: hooks on commit, and delivery to subscribers."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from batch_service.feed.cache import JobCache
from batch_service.feed.catch_up import CatchUpReads
from batch_service.feed.changes import JobChange, pending, take_pending

logger = logging.getLogger("batch_service.feed")

CHANNEL = "batch_job_changes"
NOTIFY_BYTES = 7000  # PostgreSQL caps a payload at 8000 bytes
SUBSCRIPTION_BACKLOG = 1000  # changes a slow follower may fall behind before it re-reads
KEEPALIVE_SECONDS = 15.0  # a follower sent nothing this long gets a comment (proxies drop idle streams)
KEEPALIVE_SWEEPS = 3  # checked this many times per KEEPALIVE_SECONDS: a comment after 15-20 s
FEED_KEY = "feed"  # session.info key: the feed of the Database that made the session
BEGUN_KEY = "feed_begun"
NOTIFY = text("SELECT pg_notify(:channel, :payload)")  # delivered at commit, never on rollback


class Subscription:
    """The changes of one job, queued for one follower in commit order.

    `gap` is set when the follower may have missed changes (it fell too far behind, or
    the connection to the other replicas was lost): it must then read the database.
    """

    def __init__(self, feed: ChangeFeed, job_pk: int) -> None:
        self.job_pk = job_pk
        self.gap = False
        self.quiet_sweeps = 0  # keep-alive sweeps since the follower was last woken
        self._feed = feed
        self._queue: deque[JobChange] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, change: JobChange | None) -> None:
        if change is None or len(self._queue) >= SUBSCRIPTION_BACKLOG:
            self.gap = True
            self._queue.clear()
        else:
            self._queue.append(change)
        self._wake()

    def keep_alive(self) -> None:
        """The follower has been quiet too long: wake it with nothing, so it sends a comment."""
        self._wake()

    async def wait(self) -> bool:
        """Wait for a change (True), or for the keep-alive sweep to find the follower quiet
        (False). A plain future, not a timer per wait: a thousand followers waking ten
        times a second would each add and cancel one."""
        if not self._queue and not self.gap:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return bool(self._queue) or self.gap

    def drain(self) -> list[JobChange]:
        changes = list(self._queue)
        self._queue.clear()
        return changes

    def close(self) -> None:
        self._feed.unsubscribe(self)

    def _wake(self) -> None:
        self.quiet_sweeps = 0
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class ChangeFeed:
    """Publishes committed job changes to this process's subscribers and cache, and (on
    PostgreSQL) to the other replicas through NOTIFY in the committing transaction."""

    def __init__(self, *, replica: str, cache: JobCache, notify: bool) -> None:
        self.replica = replica
        self.cache = cache
        self.notify = notify
        self.published = 0
        self.catch_up = CatchUpReads()  # the followers' reads of this feed's database
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscriptions: dict[int, set[Subscription]] = {}
        self._sweeping = False  # the keep-alive sweep is armed (only while anyone follows)
        self._listeners: list[Callable[[Sequence[JobChange]], None]] = []

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def _sweep_quiet(self) -> None:
        """Every few seconds while anyone follows: wake the followers quiet for KEEPALIVE_SECONDS."""
        if not self._subscriptions or self._loop is None:
            self._sweeping = False
            return
        for followers in self._subscriptions.values():
            for subscription in followers:
                subscription.quiet_sweeps += 1
                if subscription.quiet_sweeps > KEEPALIVE_SWEEPS:
                    subscription.keep_alive()
        self._loop.call_later(KEEPALIVE_SECONDS / KEEPALIVE_SWEEPS, self._sweep_quiet)

    def session_info(self) -> dict[str, Any]:
        """What a Session of this feed's database carries, so the commit hooks find it."""
        return {FEED_KEY: self}

    def subscribe(self, job_pk: int) -> Subscription:
        subscription = Subscription(self, job_pk)
        self._subscriptions.setdefault(job_pk, set()).add(subscription)
        if not self._sweeping and self._loop is not None:
            self._sweeping = True
            self._loop.call_later(KEEPALIVE_SECONDS / KEEPALIVE_SWEEPS, self._sweep_quiet)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        followers = self._subscriptions.get(subscription.job_pk)
        if followers is not None:
            followers.discard(subscription)
            if not followers:
                del self._subscriptions[subscription.job_pk]

    def listen(self, listener: Callable[[Sequence[JobChange]], None]) -> None:
        """Call `listener` in the event loop with each batch of committed changes."""
        self._listeners.append(listener)

    def deliver(self, changes: Sequence[JobChange]) -> None:
        """In the event loop: hand committed changes to every subscriber, in order."""
        self.published += len(changes)
        for change in changes:
            if change.reset:
                self._wake_all()
                continue
            for subscription in self._subscriptions.get(change.job_pk, ()):
                subscription.put(change)
        for listener in self._listeners:
            listener(changes)

    def deliver_remote(self, changes: Sequence[JobChange]) -> None:
        """In the event loop: changes another replica committed."""
        self.cache.forget(changes)
        self.deliver(changes)

    def lost_contact(self) -> None:
        """Changes from other replicas may have been missed: nothing remembered is trusted."""
        self.cache.forget_all()
        self._wake_all()

    def _wake_all(self) -> None:
        for followers in self._subscriptions.values():
            for subscription in followers:
                subscription.put(None)

    # The commit hooks run in the thread that commits.

    def _before_commit(self, session: Session) -> None:
        changes = pending(session)
        if not changes:
            return
        self.cache.begin(changes)
        session.info.setdefault(BEGUN_KEY, []).extend(changes)
        if self.notify:
            for payload in notify_payloads(self.replica, changes):
                session.execute(
                    text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
                )

    def _after_commit(self, session: Session) -> None:
        changes = take_pending(session)
        self.cache.end(session.info.pop(BEGUN_KEY, []), committed=True)
        if changes and self._loop is not None:
            self._loop.call_soon_threadsafe(self.deliver, changes)

    def _after_rollback(self, session: Session) -> None:
        take_pending(session)
        self.cache.end(session.info.pop(BEGUN_KEY, []), committed=False)


def notify_payloads(replica: str, changes: Sequence[JobChange]) -> Iterator[str]:
    """The changes as NOTIFY payloads under PostgreSQL's size cap (lines stay behind)."""
    batch: list[list[Any]] = []
    size = 0
    for change in changes:
        item = [change.job_pk, change.job_id, change.state, change.log_line_count, change.reset]
        item_size = len(json.dumps(item)) + 1
        if batch and size + item_size > NOTIFY_BYTES:
            yield json.dumps({"replica": replica, "changes": batch})
            batch, size = [], 0
        batch.append(item)
        size += item_size
    if batch:
        yield json.dumps({"replica": replica, "changes": batch})


def parse_payload(payload: str) -> tuple[str, list[JobChange]]:
    data = json.loads(payload)
    changes = [
        JobChange(job_pk=pk, job_id=job_id, state=state, log_line_count=count, reset=reset)
        for pk, job_id, state, count, reset in data["changes"]
    ]
    return data["replica"], changes


def _feed_of(session: Session) -> ChangeFeed | None:
    return session.info.get(FEED_KEY)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    feed = _feed_of(session)
    if feed is not None:
        feed._before_commit(session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    feed = _feed_of(session)
    if feed is not None:
        feed._after_commit(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    feed = _feed_of(session)
    if feed is not None:
        feed._after_rollback(session)


def settle(session: Session) -> None:
    """When a session closes: whatever it began and never finished is over."""
    feed = _feed_of(session)
    if feed is not None and session.info.get(BEGUN_KEY):
        feed._after_rollback(session)
