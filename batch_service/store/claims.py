"""The scheduler's SQL: claiming work under a lease, and saving each job's progress.

On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets replicas claim from one table without ever
taking the same job; a lease that is not renewed lets another replica take a dead one's
jobs over. On SQLite those clauses compile to nothing and one process owns the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from batch_service.models import Job, JobState, LogLine


@dataclass(frozen=True)
class RunningJob:
    """The columns the scheduler needs each tick; the spec is loaded once and cached."""

    pk: int
    id: str
    started_at: float
    log_line_count: int


def take_over_expired_leases(*, session: Session, replica: str, now: float, lease_seconds: float) -> int:
    """Adopt RUNNING jobs whose owner stopped renewing its lease (it died or hung)."""
    expired = select(Job.pk).where(
        Job.state == JobState.RUNNING,
        or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now),
    )
    pks = list(session.execute(expired.with_for_update(skip_locked=True)).scalars())
    return _lease(session, pks, replica, now + lease_seconds)


def adopt_all_running(*, session: Session, replica: str, now: float, lease_seconds: float) -> int:
    """At start-up on SQLite: one process owns the file, so every RUNNING job is now ours."""
    pks = list(session.execute(select(Job.pk).where(Job.state == JobState.RUNNING)).scalars())
    return _lease(session, pks, replica, now + lease_seconds)


def claim_queued_jobs(
    *, session: Session, replica: str, now: float, lease_seconds: float, capacity: int
) -> int:
    """Start the oldest QUEUED jobs, as many as this replica has free capacity for."""
    running = session.execute(
        select(func.count()).where(Job.state == JobState.RUNNING, Job.lease_owner == replica)
    ).scalar_one()
    free = capacity - running
    if free <= 0:
        return 0
    oldest = (
        select(Job.pk)
        .where(Job.state == JobState.QUEUED)
        .order_by(Job.pk)
        .limit(free)
        .with_for_update(skip_locked=True)
    )
    pks = list(session.execute(oldest).scalars())
    if pks:
        session.execute(
            update(Job)
            .where(Job.pk.in_(pks), Job.state == JobState.QUEUED)
            .values(
                state=JobState.RUNNING,
                started_at=now,
                lease_owner=replica,
                lease_expires_at=now + lease_seconds,
            )
        )
    return len(pks)


def lock_running_jobs(*, session: Session, replica: str) -> list[RunningJob]:
    """This replica's RUNNING jobs, row-locked so a concurrent cancel waits for our commit."""
    query = (
        select(Job.pk, Job.id, Job.started_at, Job.log_line_count)
        .where(Job.state == JobState.RUNNING, Job.lease_owner == replica)
        .order_by(Job.pk)
        .with_for_update()
    )
    return [RunningJob(pk, job_id, started, count) for pk, job_id, started, count in session.execute(query)]


def load_specs(*, session: Session, pks: Sequence[int]) -> dict[int, dict[str, Any]]:
    rows = session.execute(select(Job.pk, Job.spec).where(Job.pk.in_(pks)))
    return {pk: spec for pk, spec in rows}


def append_log_lines(*, session: Session, lines: Iterable[dict[str, Any]]) -> None:
    rows = list(lines)
    if rows:
        session.execute(insert(LogLine), rows)


def save_job_changes(*, session: Session, changes: Sequence[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key: each dict holds `pk` and the columns that changed."""
    if changes:
        session.execute(update(Job), list(changes))


def renew_leases(*, session: Session, replica: str, now: float, lease_seconds: float) -> None:
    """Push our leases forward once half of one has gone by, not on every tick."""
    session.execute(
        update(Job)
        .where(
            Job.state == JobState.RUNNING,
            Job.lease_owner == replica,
            Job.lease_expires_at < now + lease_seconds / 2,
        )
        .values(lease_expires_at=now + lease_seconds)
    )


def _lease(session: Session, pks: list[int], replica: str, until: float) -> int:
    if pks:
        session.execute(
            update(Job).where(Job.pk.in_(pks)).values(lease_owner=replica, lease_expires_at=until)
        )
    return len(pks)
