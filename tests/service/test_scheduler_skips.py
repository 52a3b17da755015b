"""The scheduler skips running jobs with nothing due (at 10,000 jobs that is most of a tick),
and the skipping never delays a line, misses a change made behind its back, or outlives a job."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_service.db import Database
from batch_service.models import JobSpec
from batch_service.scheduler import Scheduler
from batch_service.simulation import line_due_at, progress_at
from batch_service.store import claims
from batch_service.store import jobs as job_store
from tests.utils.clock import HandClock
from tests.utils.databases import migrated


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with migrated(Database(f"sqlite:///{tmp_path / 's.db'}")) as database:
        yield database


async def start(db: Database, clock: HandClock, spec: JobSpec, count: int = 1) -> tuple[Scheduler, list[str]]:
    ids = []
    for _ in range(count):
        submission = await db.write(
            job_store.submit_job, owner="alice", spec=spec, idempotency_key=None, now=clock()
        )
        ids.append(submission.job["id"])
    scheduler = Scheduler(db, max_running=count, lease_seconds=30, tick_seconds=0.1, clock=clock)
    await scheduler.tick()
    return scheduler, ids


async def line_count(db: Database, job_id: str) -> int:
    job = await db.read(job_store.get_job, owner="alice", job_id=job_id)
    assert job is not None
    return job["log_line_count"]


@pytest.mark.parametrize(("duration", "lines"), [(5.0, 20), (0.3, 7), (86_400.0, 1_000)])
async def test_every_tick_writes_exactly_the_lines_the_simulation_says_are_due(
    db: Database, duration: float, lines: int
) -> None:
    """Ticks at each line's own moment and a hair either side: a skipped job is never behind."""
    clock = HandClock()
    spec = JobSpec(name="exact", duration_seconds=duration, log_lines=lines)
    scheduler, (job_id,) = await start(db, clock, spec)
    job = await db.read(job_store.get_job, owner="alice", job_id=job_id)
    assert job is not None
    for seq in range(min(lines, 40) - 1):
        moment = line_due_at(spec, job["started_at"], seq)
        for clock.now in (math.nextafter(moment, 0), moment, math.nextafter(moment, math.inf)):
            await scheduler.tick()
            due = progress_at(spec, job["started_at"], clock.now).lines_due
            assert await line_count(db, job_id) == due


async def test_a_job_whose_lines_changed_behind_the_schedulers_back_is_looked_at_again(db: Database) -> None:
    clock = HandClock()
    spec = JobSpec(name="forced", duration_seconds=10, log_lines=10)
    scheduler, (job_id,) = await start(db, clock, spec)
    await scheduler.tick()  # nothing due: the job is skipped until its first line
    await db.write(job_store.cancel_job, owner="alice", job_id=job_id, now=clock())
    await scheduler.tick()
    job = await db.read(job_store.get_job, owner="alice", job_id=job_id)
    assert job is not None
    assert (job["state"], job["log_line_count"]) == ("CANCELLED", 0)


async def test_many_jobs_started_together_all_finish_with_every_line(db: Database) -> None:
    clock = HandClock()
    spec = JobSpec(name="many", duration_seconds=5, log_lines=20)
    scheduler, ids = await start(db, clock, spec, count=300)
    for _ in range(60):
        clock.now += 0.1
        await scheduler.tick()
    jobs = [await db.read(job_store.get_job, owner="alice", job_id=job_id) for job_id in ids]
    assert {(job["state"], job["log_line_count"]) for job in jobs if job} == {("SUCCEEDED", 20)}


async def test_lines_of_a_tick_that_rolled_back_are_written_by_the_next(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = HandClock()
    spec = JobSpec(name="again", duration_seconds=10, log_lines=10)
    scheduler, (job_id,) = await start(db, clock, spec)
    job = await db.read(job_store.get_job, owner="alice", job_id=job_id)
    assert job is not None
    clock.now = job["started_at"] + 1.5  # one line due

    def refuse(**_: object) -> None:
        raise RuntimeError("the disk said no")

    with monkeypatch.context() as patch:
        patch.setattr(claims, "renew_leases", refuse)
        with pytest.raises(RuntimeError):
            await scheduler.tick()
    assert await line_count(db, job_id) == 0
    await scheduler.tick()  # the same moment: the line is still due, and now written
    assert await line_count(db, job_id) == 1
