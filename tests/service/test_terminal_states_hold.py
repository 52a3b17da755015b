"""A terminal state is final: no scheduler write may move a job out of it.

Each test stages one interleaving of a scheduler tick and a cancel, deterministically, on
SQLite and on PostgreSQL: the cancel runs from another connection (as another process
would) after the tick has read its jobs and before it writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from batch_service.db import Database, make_engine
from batch_service.models import JobRecord, JobSpec, JobState, LogLine
from batch_service.scheduler import Scheduler
from batch_service.store import claims
from batch_service.store import jobs as job_store
from tests.utils.clock import HandClock

STARTED = 1_000_000.0


async def running_job(db: Database, scheduler: Scheduler) -> str:
    """A 10 s job with 10 lines, started by `scheduler` at STARTED."""
    submission = await db.write(
        job_store.submit_job,
        owner="alice",
        spec=JobSpec(name="race", duration_seconds=10, log_lines=10),
        idempotency_key=None,
        now=STARTED,
    )
    await scheduler.tick()
    return submission.job["id"]


def read_job(db: Database, job_id: str) -> JobRecord:
    with Session(db.engine) as session:
        job = job_store.get_job(session=session, owner="alice", job_id=job_id)
    assert job is not None
    return job


def stored_lines(db: Database) -> int:
    with Session(db.engine) as session:
        return session.execute(select(func.count()).select_from(LogLine)).scalar_one()


class CancelFromElsewhere:
    """Cancels a job on its own engine and thread: another process, as far as the tick can tell."""

    def __init__(self, db: Database, job_id: str) -> None:
        self._db = db
        self._engine = make_engine(str(db.engine.url.render_as_string(hide_password=False)))
        self._job_id = job_id
        self.acknowledged: str | None = None
        self._thread = threading.Thread(target=self._cancel)

    def _cancel(self) -> None:
        with Session(self._engine) as session:
            job = job_store.cancel_job(session=session, owner="alice", job_id=self._job_id, now=STARTED + 5)
        assert job is not None
        self.acknowledged = job["state"]

    def start_and_wait_until_done_or_blocked(self) -> None:
        """On SQLite the cancel commits at once; on PostgreSQL it waits for the tick's row lock."""
        self._thread.start()
        for _ in range(3000):
            self._thread.join(0.01)
            if not self._thread.is_alive() or self._waits_on_a_lock():
                return
        raise AssertionError("the cancel neither finished nor waited on a lock")

    def _waits_on_a_lock(self) -> bool:
        if self._db.is_sqlite:
            return False
        with self._db.engine.connect() as connection:
            query = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return connection.execute(text(query)).scalar_one() > 0

    def join(self) -> None:
        self._thread.join(30)
        self._engine.dispose()


def cancel_after_the_tick_reads(monkeypatch: pytest.MonkeyPatch, cancel: CancelFromElsewhere) -> None:
    read_running: Callable[..., Any] = claims.lock_running_jobs

    def read_then_cancel(**kwargs: Any) -> Any:
        running = read_running(**kwargs)
        cancel.start_and_wait_until_done_or_blocked()
        return running

    monkeypatch.setattr(claims, "lock_running_jobs", read_then_cancel)


async def test_what_a_cancel_acknowledges_is_the_final_state(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = HandClock()
    scheduler = Scheduler(db, max_running=8, lease_seconds=30, tick_seconds=0.1, clock=clock)
    job_id = await running_job(db, scheduler)
    clock.now = STARTED + 10  # the job's run is over: this tick would finish it SUCCEEDED
    cancel = CancelFromElsewhere(db, job_id)
    cancel_after_the_tick_reads(monkeypatch, cancel)

    if db.is_sqlite:  # the cancel commits between the tick's read and its write: the tick is void
        with pytest.raises(claims.JobsChangedUnderTick):
            await scheduler.tick()
    else:  # the tick holds the job's row lock: the cancel waits for its commit
        await scheduler.tick()
    cancel.join()
    monkeypatch.undo()
    await scheduler.tick()  # and nothing later changes it either

    final = read_job(db, job_id)
    assert cancel.acknowledged == final["state"]
    if db.is_sqlite:
        assert (final["state"], final["log_line_count"], stored_lines(db)) == ("CANCELLED", 0, 0)
    else:
        assert (final["state"], final["log_line_count"], stored_lines(db)) == ("SUCCEEDED", 10, 10)


async def test_stale_scheduler_writes_never_leave_a_terminal_state(db: Database) -> None:
    clock = HandClock()
    scheduler = Scheduler(db, max_running=8, lease_seconds=30, tick_seconds=0.1, clock=clock)
    job_id = await running_job(db, scheduler)
    pk = read_job(db, job_id)["pk"]
    await db.write(job_store.cancel_job, owner="alice", job_id=job_id, now=STARTED + 1)
    stale_outcome = claims.Outcome(
        pk=pk, log_line_count=10, state=JobState.SUCCEEDED, finished_at=STARTED + 10, outputs={}, error=None
    )

    def write_stale(*, session: Session) -> None:
        claims.save_progress(session=session, replica=scheduler.replica, counts={pk: 5})
        session.commit()

    def finish_stale(*, session: Session) -> None:
        claims.save_outcomes(session=session, replica=scheduler.replica, outcomes=[stale_outcome])
        session.commit()

    for stale_write in (write_stale, finish_stale):
        with pytest.raises(claims.JobsChangedUnderTick):
            await db.write(stale_write)
    assert (read_job(db, job_id)["state"], read_job(db, job_id)["log_line_count"]) == ("CANCELLED", 0)


async def test_another_replicas_running_job_is_not_written_by_this_one(db: Database) -> None:
    clock = HandClock()
    owner = Scheduler(db, max_running=8, lease_seconds=30, tick_seconds=0.1, clock=clock)
    job_id = await running_job(db, owner)
    pk = read_job(db, job_id)["pk"]

    def write_as_another_replica(*, session: Session) -> None:
        claims.save_progress(session=session, replica="replica-intruder", counts={pk: 7})
        session.commit()

    with pytest.raises(claims.JobsChangedUnderTick):
        await db.write(write_as_another_replica)
    assert read_job(db, job_id)["log_line_count"] == 0
