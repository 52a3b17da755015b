"""A follower with nothing to send is woken now and then, so it can send a keep-alive comment
(proxies drop streams that stay silent); one that keeps getting changes never is."""

from __future__ import annotations

import asyncio

import pytest

from batch_service.feed import JobChange, hub
from batch_service.feed.cache import JobCache


async def test_only_a_quiet_follower_is_woken_with_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "KEEPALIVE_SECONDS", 0.3)  # swept every 0.1 s
    feed = hub.ChangeFeed(replica="test", cache=JobCache(keep_live=True, capacity=10), notify=False)
    feed.attach(asyncio.get_running_loop())
    quiet, busy = feed.subscribe(1), feed.subscribe(2)
    busy_woke_empty = 0

    async def follow_busy() -> None:
        nonlocal busy_woke_empty
        while True:
            busy_woke_empty += not await busy.wait()
            busy.drain()

    following = asyncio.create_task(follow_busy())
    quiet_woke = asyncio.create_task(quiet.wait())
    for count in range(20):  # a change for the busy job every 0.05 s, for a second
        feed.deliver([JobChange(2, "job-2", "RUNNING", count)])
        await asyncio.sleep(0.05)
    following.cancel()

    assert quiet_woke.done() and quiet_woke.result() is False
    assert busy_woke_empty == 0
