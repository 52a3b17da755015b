"""The scheduler, driven tick by tick with a hand-held clock: no sleeping, no timing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from batch_service.db import Database
from batch_service.models import Job, JobRecord, JobSpec, JobState, LogLine
from batch_service.scheduler import MAX_LINES_PER_TICK, Scheduler
from batch_service.store import jobs as job_store
from tests.utils.clock import HandClock
from tests.utils.databases import migrated


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with migrated(Database(f"sqlite:///{tmp_path / 's.db'}")) as database:
        yield database


def make_scheduler(db: Database, clock: HandClock, max_running: int = 8) -> Scheduler:
    return Scheduler(db, max_running=max_running, lease_seconds=30, tick_seconds=0.1, clock=clock)


async def add_job(db: Database, clock: HandClock, **spec: Any) -> str:
    submission = await db.write(
        job_store.submit_job,
        owner="alice",
        spec=JobSpec(**{"name": "j", **spec}),
        idempotency_key=None,
        now=clock(),
    )
    return submission.job["id"]


async def job(db: Database, job_id: str) -> JobRecord:
    found = await db.read(job_store.get_job, owner="alice", job_id=job_id)
    assert found is not None
    return found


def _seqs(*, session: Session, job_id: str) -> list[int]:
    pk = session.execute(select(Job.pk).where(Job.id == job_id)).scalar_one()
    return list(
        session.execute(select(LogLine.seq).where(LogLine.job_pk == pk).order_by(LogLine.seq)).scalars()
    )


async def test_queued_jobs_start_in_submit_order_up_to_capacity(db: Database) -> None:
    clock = HandClock()
    ids = [await add_job(db, clock, duration_seconds=10) for _ in range(5)]
    scheduler = make_scheduler(db, clock, max_running=2)
    await scheduler.tick()
    assert [(await job(db, i))["state"] for i in ids] == ["RUNNING", "RUNNING", "QUEUED", "QUEUED", "QUEUED"]
    clock.now += 10
    await scheduler.tick()  # the first two finish and the next two start in the same tick
    assert [(await job(db, i))["state"] for i in ids] == [
        "SUCCEEDED",
        "SUCCEEDED",
        "RUNNING",
        "RUNNING",
        "QUEUED",
    ]


async def test_log_lines_are_written_evenly_over_the_run(db: Database) -> None:
    clock = HandClock()
    job_id = await add_job(db, clock, duration_seconds=10, log_lines=100)
    scheduler = make_scheduler(db, clock)
    await scheduler.tick()
    for elapsed, expected in [(2.5, 25), (5, 50), (9.99, 99)]:
        clock.now = (await job(db, job_id))["started_at"] + elapsed
        await scheduler.tick()
        assert (await job(db, job_id))["log_line_count"] == expected
    assert await db.read(_seqs, job_id=job_id) == list(range(99))


async def test_the_final_state_and_the_last_lines_commit_together(db: Database) -> None:
    clock = HandClock()
    job_id = await add_job(db, clock, duration_seconds=10, log_lines=10)
    scheduler = make_scheduler(db, clock)
    await scheduler.tick()
    clock.now += 5
    await scheduler.tick()
    assert (await job(db, job_id))["log_line_count"] == 5
    clock.now += 5
    report = await scheduler.tick()
    done = await job(db, job_id)
    assert report.finished == {job_id: JobState.SUCCEEDED}
    assert (done["state"], done["log_line_count"]) == ("SUCCEEDED", 10)
    assert await db.read(_seqs, job_id=job_id) == list(range(10))


async def test_outcomes_succeeded_failed_and_timed_out(db: Database) -> None:
    clock = HandClock()
    ok = await add_job(db, clock, duration_seconds=1, outputs={"result": "r"})
    failing = await add_job(db, clock, duration_seconds=1, fail_message="boom", log_lines=2)
    slow = await add_job(db, clock, duration_seconds=100, timeout_seconds=2, log_lines=100)
    scheduler = make_scheduler(db, clock)
    await scheduler.tick()
    clock.now += 2
    await scheduler.tick()
    assert ((await job(db, ok))["state"], (await job(db, ok))["outputs"]) == ("SUCCEEDED", {"result": "r"})
    assert ((await job(db, failing))["state"], (await job(db, failing))["error"]) == ("FAILED", "boom")
    timed_out = await job(db, slow)
    assert (timed_out["state"], timed_out["error"], timed_out["log_line_count"]) == (
        "TIMED_OUT",
        "timed out after 2 s",
        2,
    )


async def test_a_new_scheduler_resumes_running_jobs_without_duplicate_lines(db: Database) -> None:
    clock = HandClock()
    job_id = await add_job(db, clock, duration_seconds=10, log_lines=10)
    first = make_scheduler(db, clock)
    await first.tick()
    started_at = (await job(db, job_id))["started_at"]
    clock.now += 3
    await first.tick()
    # The first process dies here. A new one on the same file adopts the job.
    second = make_scheduler(db, clock)
    await second.start()
    clock.now += 60  # it was down long past the job's end: the job finishes at once
    await second.tick()
    done = await job(db, job_id)
    assert (done["state"], done["started_at"], done["log_line_count"]) == ("SUCCEEDED", started_at, 10)
    assert await db.read(_seqs, job_id=job_id) == list(range(10))


async def test_a_cancelled_job_gets_no_more_lines(db: Database) -> None:
    clock = HandClock()
    job_id = await add_job(db, clock, duration_seconds=10, log_lines=10)
    scheduler = make_scheduler(db, clock)
    await scheduler.tick()
    clock.now += 3
    await scheduler.tick()
    await db.write(job_store.cancel_job, owner="alice", job_id=job_id, now=clock())
    clock.now += 10
    await scheduler.tick()
    cancelled = await job(db, job_id)
    assert (cancelled["state"], cancelled["log_line_count"]) == ("CANCELLED", 3)
    assert await db.read(_seqs, job_id=job_id) == [0, 1, 2]


async def test_a_huge_log_is_written_in_bounded_transactions(db: Database) -> None:
    clock = HandClock()
    job_id = await add_job(db, clock, duration_seconds=0, log_lines=MAX_LINES_PER_TICK + 10)
    scheduler = make_scheduler(db, clock)
    await scheduler.tick()  # starts it
    await scheduler.tick()
    assert ((await job(db, job_id))["state"], (await job(db, job_id))["log_line_count"]) == (
        "RUNNING",
        MAX_LINES_PER_TICK,
    )
    await scheduler.tick()
    assert ((await job(db, job_id))["state"], (await job(db, job_id))["log_line_count"]) == (
        "SUCCEEDED",
        MAX_LINES_PER_TICK + 10,
    )

    def count(*, session: Session) -> int:
        return session.execute(select(func.count()).select_from(LogLine)).scalar_one()

    assert await db.read(count) == MAX_LINES_PER_TICK + 10
