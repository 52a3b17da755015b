"""Submitting jobs: with an Idempotency-Key one at a time, without one by group commit.

Under load most of a submit's database cost is its own commit (an fsync) and its own hop
to the writer thread; submits that arrive while a transaction is in flight share the next
one, which pays both once per batch. The batch is taken when the writer thread starts on
it, not when it is queued, so submits that wait behind a scheduler tick all join the same
commit. A batch holds other people's jobs, so nothing one caller sends may fail it: each
job is serialized before it joins (`prepare_job`), and if a batch fails anyway for a
reason other than the database itself, its jobs are retried one by one so that only the
culprit fails. Keyed submits take the single-job path, which settles a key's races one job
at a time.
"""

from __future__ import annotations

import asyncio
from collections import deque

from sqlalchemy.orm import Session

from batch_service.db import Database
from batch_service.models import JobRecord, JobSpec
from batch_service.storage_errors import STORAGE_ERRORS
from batch_service.store import jobs as job_store

MAX_BATCH = 256

Waiting = tuple[job_store.NewJob, "asyncio.Future[JobRecord]"]


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
        return job_store.Submission(job=await self._group_commit(job), created=True)

    async def _group_commit(self, job: job_store.NewJob) -> JobRecord:
        done: asyncio.Future[JobRecord] = asyncio.get_running_loop().create_future()
        self._waiting.append((job, done))
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
                for (_, done), row in zip(batch, rows, strict=True):
                    _settle(done, row)

    def _submit_waiting(self, *, session: Session, batch: list[Waiting]) -> list[JobRecord]:
        """In the writer thread: commit the submits waiting now, up to MAX_BATCH of them."""
        self._take(batch)
        return job_store.submit_jobs(session=session, jobs=[job for job, _ in batch])

    def _take(self, batch: list[Waiting]) -> None:
        while self._waiting and len(batch) < MAX_BATCH:
            batch.append(self._waiting.popleft())

    async def _commit_one_by_one(self, batch: list[Waiting]) -> None:
        for job, done in batch:
            try:
                (row,) = await self._db.write(job_store.submit_jobs, jobs=[job])
            except Exception as error:
                _settle(done, error)
            else:
                _settle(done, row)


def _settle(done: asyncio.Future[JobRecord], outcome: JobRecord | BaseException) -> None:
    """Hand a caller its outcome; one that went away still had its job stored (or not)."""
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
