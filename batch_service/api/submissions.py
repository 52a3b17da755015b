"""Group commit for submits: the ones that arrive while a transaction is in flight share
the next one.

Under load most of a submit's database cost is its own commit and its own hop to the
writer thread; batching pays both once per batch. Submits with an Idempotency-Key take the
single-job path, which handles a key's conflicts one job at a time.
"""

from __future__ import annotations

import asyncio

from batch_service.db import Database
from batch_service.models import JobRecord, JobSpec
from batch_service.store import jobs as job_store

MAX_BATCH = 256


class SubmitBatcher:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: list[tuple[job_store.NewJob, asyncio.Future[JobRecord]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, *, owner: str, spec: JobSpec, now: float) -> JobRecord:
        done: asyncio.Future[JobRecord] = asyncio.get_running_loop().create_future()
        self._waiting.append((job_store.NewJob(owner=owner, spec=spec, now=now), done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="submit-batcher")
        return await done

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                rows = await self._db.write(job_store.submit_jobs, requests=[job for job, _ in batch])
            except Exception as error:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            for (_, done), row in zip(batch, rows, strict=True):
                if not done.done():  # a caller that went away still got its job stored
                    done.set_result(row)
