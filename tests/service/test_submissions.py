"""Group commit: submits that arrive together are written in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batch_service.db import Database
from batch_service.models import JobSpec
from batch_service.store import jobs as job_store
from batch_service.store.submissions import JobSubmitter
from tests.utils.databases import migrated


class CountingDatabase(Database):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.writes = 0

    async def write(self, work: Any, /, **kwargs: Any) -> Any:
        self.writes += 1
        return await super().write(work, **kwargs)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[CountingDatabase]:
    with migrated(CountingDatabase(f"sqlite:///{tmp_path / 'g.db'}")) as database:
        yield database


async def test_submits_that_arrive_together_share_a_transaction(db: CountingDatabase) -> None:
    submitter = JobSubmitter(db)
    specs = [JobSpec(name=f"j{i}", labels={"n": str(i)}) for i in range(40)]
    submissions = await asyncio.gather(
        *(submitter.submit(owner="alice", spec=spec, idempotency_key=None, now=1.0) for spec in specs)
    )
    jobs = [submission.job for submission in submissions]
    assert [job["name"] for job in jobs] == [f"j{i}" for i in range(40)]
    assert len({job["pk"] for job in jobs}) == 40
    assert db.writes < 5  # one or two batches, not forty transactions
    stored = await db.read(
        job_store.list_jobs, owner="alice", state=None, labels=[("n", "39")], before_pk=None, limit=10
    )
    assert [job["id"] for job in stored] == [jobs[39]["id"]]


async def test_a_failed_batch_fails_each_of_its_submits(db: CountingDatabase) -> None:
    submitter = JobSubmitter(db)
    db.close()  # the writer thread is gone: the batch cannot be written
    results = await asyncio.gather(
        *(
            submitter.submit(owner="alice", spec=JobSpec(name="x"), idempotency_key=None, now=1.0)
            for _ in range(3)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(result, RuntimeError) for result in results)
