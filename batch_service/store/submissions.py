"""Submitting jobs: with an Idempotency-Key one request at a time, without one by group commit.

Under load most of a submit's database cost is its own commit (an fsync) and its own hop
to the writer thread; submits that arrive while a transaction is in flight share the next
one, which pays both once per batch. The batch is taken when the writer thread starts on
it, not when it is queued, so submits that wait behind a scheduler tick all join the same
commit. A request (one job, or the jobs of `POST /v1/jobs:batch`) joins as one unit, all
of it or none. A batch holds other people's units, so nothing one caller sends may fail it:
each job is serialized before it joins (`prepare_job`), and if a batch fails anyway for a
reason other than the database itself, its units are retried one by one so that only the
culprit fails. Keyed submits take their own transaction, which settles a key's races.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque

from sqlalchemy.orm import Session

from batch_service.db import Database
from batch_service.models import JobRecord, JobSpec
from batch_service.storage_errors import STORAGE_ERRORS
from batch_service.store import jobs as job_store

MAX_BATCH = 256  # jobs per group commit; a larger unit is committed alone

Waiting = tuple[list[job_store.NewJob], "asyncio.Future[list[JobRecord]]"]


class JobSubmitter:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Appended on the event loop, taken in the writer thread (deque's ends are thread-safe).
        self._waiting: deque[Waiting] = deque()
        self._flusher: asyncio.Task[None] | None = None

    async def submit(
        self, *, owner: str, spec: JobSpec, idempotency_key: str | None, now: float
    ) -> job_store.Submission:
        """Store a QUEUED job; raises `IdempotencyConflict` for a key reused with another spec."""
        if idempotency_key is not None:
            return await self._db.write(
                job_store.submit_job, owner=owner, spec=spec, idempotency_key=idempotency_key, now=now
            )
        job = job_store.prepare_job(owner=owner, spec=spec, idempotency_key=None, now=now)
        (row,) = await self._group_commit([job])
        return job_store.Submission(job=row, created=True)

    async def submit_many(
        self, *, owner: str, specs: list[JobSpec], idempotency_key: str | None, now: float
    ) -> job_store.BatchSubmission:
        """Store QUEUED jobs in order, all in one transaction or none; raises
        `IdempotencyConflict` for a key reused with another list of specs."""
        if idempotency_key is not None:
            return await self._db.write(
                job_store.submit_batch_with_key,
                owner=owner,
                specs=specs,
                idempotency_key=idempotency_key,
                now=now,
            )
        jobs = [
            job_store.prepare_job(owner=owner, spec=spec, idempotency_key=None, now=now) for spec in specs
        ]
        return job_store.BatchSubmission(jobs=await self._group_commit(jobs), created=True)

    async def _group_commit(self, jobs: list[job_store.NewJob]) -> list[JobRecord]:
        done: asyncio.Future[list[JobRecord]] = asyncio.get_running_loop().create_future()
        self._waiting.append((jobs, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="group-commit")
        return await done

    async def _flush(self) -> None:
        while self._waiting:
            batch: list[Waiting] = []  # filled in the writer thread, settled here
            try:
                rows = await self._db.write(self._submit_waiting, batch=batch)
            except Exception as error:
                if not batch:  # the writer never started on it (it is shut down): fail those waiting
                    self._take(batch)
                    for _, done in batch:
                        _settle(done, error)
                elif isinstance(error, STORAGE_ERRORS):  # the database failed, not a job: all fail alike
                    for _, done in batch:
                        _settle(done, error)
                else:
                    await self._commit_one_by_one(batch)
            else:
                stored = iter(rows)
                for jobs, done in batch:
                    _settle(done, list(itertools.islice(stored, len(jobs))))

    def _submit_waiting(self, *, session: Session, batch: list[Waiting]) -> list[JobRecord]:
        """In the writer thread: commit the submits waiting now, up to MAX_BATCH jobs of them."""
        self._take(batch)
        return job_store.submit_jobs(session=session, jobs=[job for jobs, _ in batch for job in jobs])

    def _take(self, batch: list[Waiting]) -> None:
        """Waiting units in arrival order, up to MAX_BATCH jobs (always at least one unit)."""
        size = sum(len(jobs) for jobs, _ in batch)
        while self._waiting and (not batch or size + len(self._waiting[0][0]) <= MAX_BATCH):
            unit = self._waiting.popleft()
            batch.append(unit)
            size += len(unit[0])

    async def _commit_one_by_one(self, batch: list[Waiting]) -> None:
        for jobs, done in batch:
            try:
                rows = await self._db.write(job_store.submit_jobs, jobs=jobs)
            except Exception as error:
                _settle(done, error)
            else:
                _settle(done, rows)


def _settle(done: asyncio.Future[list[JobRecord]], outcome: list[JobRecord] | BaseException) -> None:
    """Hand a caller its outcome; one that went away still had its job stored (or not)."""
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
