"""Reading a job through the cache: memory where it cannot be stale, else the database."""

from __future__ import annotations

from batch_service.db import Database
from batch_service.models import JobRecord
from batch_service.store import jobs as job_store


async def read_job(db: Database, *, owner: str, job_id: str) -> JobRecord | None:
    cache = db.feed.cache
    row = cache.get(job_id)
    if row is not None:
        return row if row["owner"] == owner else None
    generation = cache.generation  # before the read starts: a write that begins after it voids the row
    row = await db.read(job_store.get_job, owner=owner, job_id=job_id)
    if row is not None:
        cache.offer(row, read_at_generation=generation)
    return row
