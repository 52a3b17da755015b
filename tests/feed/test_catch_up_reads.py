"""Catch-up reads shared by a job's followers: who may join a read, and what each gets.

The database here is a stand-in whose reads wait for the test to let them finish, so the
order of "asked", "started" and "joined" is the test's to set, not the scheduler's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, NamedTuple, cast

from batch_service.db import Database
from batch_service.feed.catch_up import CatchUpReads


class Line(NamedTuple):
    seq: int


class GatedDatabase:
    """Answers each read with lines from `from_seq` up to `lines`, once the test opens the gate."""

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self.reads: list[dict[str, Any]] = []
        self.gate = asyncio.Event()

    async def read(self, work: Callable[..., Any], /, **kwargs: Any) -> Any:
        self.reads.append(kwargs)
        await self.gate.wait()
        first, limit = kwargs["from_seq"], kwargs["limit"]
        job = {"pk": kwargs["job_pk"], "state": "RUNNING", "log_line_count": self.lines}
        return job, [Line(seq) for seq in range(first, min(self.lines, first + limit))]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_followers_waiting_for_a_read_share_one_each_from_its_own_line() -> None:
    db = GatedDatabase(lines=50)
    reads = CatchUpReads(parallel=1)
    first = asyncio.create_task(reads.read(cast(Database, db), 1, 0))
    await settle()  # its read holds the only slot
    waiting = [asyncio.create_task(reads.read(cast(Database, db), 1, from_seq)) for from_seq in (30, 10, 20)]
    await settle()

    db.gate.set()
    results = await asyncio.gather(first, *waiting)

    assert [read["from_seq"] for read in db.reads] == [0, 10]  # the three waiting shared one, from the lowest
    assert [[line.seq for line in result.lines] for result in results] == [
        list(range(0, 50)),
        list(range(30, 50)),
        list(range(10, 50)),
        list(range(20, 50)),
    ]


async def test_a_follower_never_joins_a_read_that_has_started() -> None:
    """A read that started before a follower subscribed may miss a change that follower
    will never be told of: the follower must get a read of its own."""
    db = GatedDatabase(lines=5)
    reads = CatchUpReads(parallel=2)
    early = asyncio.create_task(reads.read(cast(Database, db), 1, 0))
    await settle()  # started: a slot was free
    late = asyncio.create_task(reads.read(cast(Database, db), 1, 0))
    await settle()

    db.gate.set()
    await asyncio.gather(early, late)

    assert len(db.reads) == 2


async def test_a_read_that_fills_its_batch_says_there_is_more() -> None:
    db = GatedDatabase(lines=25)
    db.gate.set()
    reads = CatchUpReads(batch=10)

    first = await reads.read(cast(Database, db), 1, 0)
    last = await reads.read(cast(Database, db), 1, 20)

    assert (len(first.lines), first.more) == (10, True)
    assert (len(last.lines), last.more) == (5, False)


async def test_a_follower_that_leaves_does_not_cancel_the_read_of_the_rest() -> None:
    db = GatedDatabase(lines=3)
    reads = CatchUpReads(parallel=1)
    holder = asyncio.create_task(reads.read(cast(Database, db), 2, 0))  # holds the slot
    await settle()
    leaving = asyncio.create_task(reads.read(cast(Database, db), 1, 0))
    staying = asyncio.create_task(reads.read(cast(Database, db), 1, 1))
    await settle()

    leaving.cancel()
    db.gate.set()
    await holder

    assert [line.seq for line in (await staying).lines] == [1, 2]
