"""`finished_at` is when the simulated run ended, even if the service was down at that moment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from batch_service.db import Database
from batch_service.models import JobSpec
from batch_service.scheduler import Scheduler
from batch_service.store import jobs as job_store
from batch_service.store import logs as log_store

STARTED = 1_000_000.0


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'f.db'}")
    database.migrate()
    yield database
    database.close()


@pytest.mark.parametrize(
    ("spec", "ran_for", "state"),
    [
        ({"duration_seconds": 10}, 10, "SUCCEEDED"),
        ({"duration_seconds": 10, "fail_message": "boom"}, 10, "FAILED"),
        ({"duration_seconds": 100, "timeout_seconds": 3}, 3, "TIMED_OUT"),
    ],
)
async def test_a_job_that_ended_while_the_service_was_down_keeps_its_real_end(
    db: Database, spec: dict[str, Any], ran_for: float, state: str
) -> None:
    now = [STARTED]
    scheduler = Scheduler(db, max_running=8, lease_seconds=30, tick_seconds=0.1, clock=lambda: now[0])
    submitted = await db.write(
        job_store.submit_job,
        owner="alice",
        spec=JobSpec(name="j", log_lines=100, **spec),
        idempotency_key=None,
        now=STARTED,
    )
    await scheduler.tick()  # starts it at STARTED
    now[0] = STARTED + 3600  # the service comes back an hour later
    await scheduler.tick()

    job = await db.read(job_store.get_job, owner="alice", job_id=submitted.job["id"])
    assert job is not None
    assert (job["state"], job["started_at"], job["finished_at"]) == (state, STARTED, STARTED + ran_for)
    lines = await db.read(log_store.read_log_lines, job_pk=job["pk"], from_seq=0, limit=100)
    assert lines[-1].timestamp <= job["finished_at"]
