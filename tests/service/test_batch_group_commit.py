"""A batch joins the group commit as one unit: it shares a transaction with the single submits
beside it, and when it fails it fails whole and alone, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import IntegrityError

from batch_service.db import Database
from batch_service.models import JobSpec
from batch_service.store import jobs as job_store
from batch_service.store.submissions import MAX_BATCH, JobSubmitter


async def owned(db: Database, owner: str) -> list[str]:
    rows = await db.read(job_store.list_jobs, owner=owner, state=None, labels=[], before_pk=None, limit=5000)
    return [row["name"] for row in reversed(rows)]


async def test_a_batch_and_single_submits_arriving_together_are_all_stored_in_order(db: Database) -> None:
    submitter = JobSubmitter(db)
    batch = [JobSpec(name=f"batch-{i}") for i in range(MAX_BATCH * 3)]
    singles = [JobSpec(name=f"single-{i}") for i in range(30)]
    outcomes = await asyncio.gather(
        *(submitter.submit(owner="bob", spec=spec, idempotency_key=None, now=1.0) for spec in singles[:15]),
        submitter.submit_many(owner="alice", specs=batch, idempotency_key=None, now=1.0),
        *(submitter.submit(owner="bob", spec=spec, idempotency_key=None, now=1.0) for spec in singles[15:]),
    )
    submission = outcomes.pop(15)
    assert isinstance(submission, job_store.BatchSubmission)
    assert [job["name"] for job in submission.jobs] == [spec.name for spec in batch]
    assert await owned(db, "alice") == [spec.name for spec in batch]
    assert sorted(await owned(db, "bob")) == sorted(spec.name for spec in singles)


async def test_a_batch_the_database_refuses_fails_whole_and_alone(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal validation cannot see: the batch's last job reuses a stored job's id."""
    ids = iter(
        [f"job-{i:024x}" for i in range(10)]
        + [f"job-{i:024x}" for i in range(100, 104)]
        + ["job-" + "0" * 24]
    )
    monkeypatch.setattr(job_store, "new_job_id", lambda: next(ids))
    submitter = JobSubmitter(db)
    outcomes = await asyncio.gather(
        *(
            submitter.submit(owner="bob", spec=JobSpec(name=f"ok-{i}"), idempotency_key=None, now=1.0)
            for i in range(10)
        ),
        submitter.submit_many(
            owner="mallory", specs=[JobSpec(name=f"m-{i}") for i in range(5)], idempotency_key=None, now=1.0
        ),
        return_exceptions=True,
    )
    *good, culprit = outcomes
    assert isinstance(culprit, IntegrityError)
    assert [outcome.job["name"] for outcome in good] == [f"ok-{i}" for i in range(10)]
    assert await owned(db, "mallory") == []


async def test_a_keyed_batch_that_collides_with_a_stored_job_creates_none_of_its_jobs(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitter = JobSubmitter(db)
    await submitter.submit(owner="bob", spec=JobSpec(name="first"), idempotency_key=None, now=1.0)
    (taken,) = await owned(db, "bob")
    stored = await db.read(job_store.list_jobs, owner="bob", state=None, labels=[], before_pk=None, limit=1)
    ids = iter(["job-" + "a" * 24, "job-" + "b" * 24, stored[0]["id"]])
    monkeypatch.setattr(job_store, "new_job_id", lambda: next(ids))
    with pytest.raises(IntegrityError):
        await submitter.submit_many(
            owner="alice", specs=[JobSpec(name=f"k-{i}") for i in range(3)], idempotency_key="k", now=1.0
        )
    assert await owned(db, "alice") == []
    assert taken == "first"
