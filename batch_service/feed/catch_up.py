"""Catch-up reads of a job's log, shared by its followers and kept off most reader threads.

When a thousand followers open at once, or ten followers of a job all see it finish, each
would read the database for itself: the reads queue on the reader threads, a `GET` waits
behind them, and their threads take the GIL from the event loop that delivers lines. So a
follower joins its job's read that has not started yet, if there is one, and at most
`PARALLEL_READS` catch-up reads run at once.

Joining is safe only before the read starts: each follower subscribed to the job before it
asked, so a read that starts after every joiner subscribed misses nothing any of them would
not also be sent by the feed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from batch_service.models import JobRecord
from batch_service.store import logs as log_store
from batch_service.store.logs import StoredLine

if TYPE_CHECKING:  # the Database holds the feed that holds these reads
    from batch_service.db import Database

READ_BATCH = 1000  # lines in one read
PARALLEL_READS = 2  # of the service's reader threads; the rest stay free for the API


@dataclass(frozen=True)
class CaughtUp:
    """A job's row and its lines from the asked seq on; `more` if the read stopped at its batch."""

    job: JobRecord | None
    lines: Sequence[StoredLine]
    more: bool


@dataclass
class _PendingRead:
    from_seq: int
    result: asyncio.Future[tuple[JobRecord | None, Sequence[StoredLine]]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class CatchUpReads:
    def __init__(self, *, parallel: int = PARALLEL_READS, batch: int = READ_BATCH) -> None:
        self.batch = batch
        self.started = 0  # reads that went to the database (fewer than were asked for, when shared)
        self._parallel = parallel
        self._slots: asyncio.Semaphore | None = None
        self._pending: dict[int, _PendingRead] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def read(self, db: Database, job_pk: int, from_seq: int) -> CaughtUp:
        """The job and its lines from `from_seq` on. The caller must already be subscribed to
        the job's changes (see the module's docstring)."""
        pending = self._pending.get(job_pk)
        if pending is None:
            pending = self._pending[job_pk] = _PendingRead(from_seq)
            task = asyncio.create_task(self._run(db, job_pk, pending))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        else:
            pending.from_seq = min(pending.from_seq, from_seq)
        job, lines = await asyncio.shield(pending.result)  # a follower that leaves leaves it to the rest
        more = len(lines) == self.batch
        return CaughtUp(job, [line for line in lines if line.seq >= from_seq], more)

    async def _run(self, db: Database, job_pk: int, pending: _PendingRead) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._parallel)
        try:
            async with self._slots:
                # From here on no one joins: the read starts after every joiner subscribed.
                self._forget(job_pk, pending)
                self.started += 1
                result = await db.read(
                    log_store.read_job_with_lines, job_pk=job_pk, from_seq=pending.from_seq, limit=self.batch
                )
        except asyncio.CancelledError:  # the service is stopping
            self._forget(job_pk, pending)
            pending.result.cancel()
            raise
        except Exception as error:
            self._forget(job_pk, pending)
            pending.result.set_exception(error)
            pending.result.exception()  # retrieved: every joiner may have left already
        else:
            pending.result.set_result(result)

    def _forget(self, job_pk: int, pending: _PendingRead) -> None:
        if self._pending.get(job_pk) is pending:
            del self._pending[job_pk]
