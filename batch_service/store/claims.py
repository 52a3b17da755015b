"""The scheduler's SQL: claiming work under a lease, and saving each job's progress.

On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets replicas claim from one table without ever
taking the same job; a lease that is not renewed lets another replica take a dead one's
jobs over. On SQLite those clauses compile to nothing and one process owns the file
(`sqlite_lock`). Either way every UPDATE repeats, in SQL, the state it expects the row to
be in (and, for a running job, that this replica holds its lease): whatever raced with the
tick, a job that reached a terminal state is never moved out of it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from batch_service.models import Job, JobState

jobs = Job.__table__
_STILL_OURS = and_(
    jobs.c.pk == bindparam("b_pk"),
    jobs.c.state == JobState.RUNNING,
    jobs.c.lease_owner == bindparam("b_replica"),
)
# The two statements a tick runs once per line and once per running job, as driver SQL with
# `:name` placeholders: at 10,000 running jobs SQLAlchemy's per-row parameter handling (and,
# for lines, the ORM's bulk insert) cost more than the database's own work (py-spy, #12.4).
INSERT_LOG_LINES = (
    "INSERT INTO log_lines (job_pk, seq, timestamp, level, message) "
    "VALUES (:job_pk, :seq, :timestamp, :level, :message)"
)
SAVE_PROGRESS = (
    "UPDATE jobs SET log_line_count = :b_count "
    f"WHERE pk = :b_pk AND state = '{JobState.RUNNING.value}' AND lease_owner = :b_replica"
)
SAVE_OUTCOME = (
    update(jobs)
    .where(_STILL_OURS)
    .values(
        log_line_count=bindparam("b_count"),
        state=bindparam("b_state"),
        finished_at=bindparam("b_finished_at"),
        outputs=bindparam("b_outputs", type_=jobs.c.outputs.type),
        error=bindparam("b_error"),
        retryable=bindparam("b_retryable"),
        lease_owner=None,
        lease_expires_at=None,
    )
)


class JobsChangedUnderTick(Exception):
    """A job this tick meant to update was no longer RUNNING under our lease (cancelled or
    taken over since it was read); the tick's transaction must be rolled back."""


class RunningJob(NamedTuple):
    """The columns the scheduler needs each tick; the spec is loaded once and cached. A named
    tuple: a tick reads each field of 10,000 of these many times, and a tuple's fields are
    about ten times as fast to read as a result row's (or a frozen dataclass's to build)."""

    pk: int
    id: str
    owner: str
    started_at: float
    log_line_count: int


def take_over_expired_leases(*, session: Session, replica: str, now: float, lease_seconds: float) -> int:
    """Adopt RUNNING jobs whose owner stopped renewing its lease (it died or hung)."""
    expired = (
        Job.state == JobState.RUNNING,
        or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now),
    )
    pks = list(session.execute(select(Job.pk).where(*expired).with_for_update(skip_locked=True)).scalars())
    if not pks:
        return 0
    taken = session.execute(
        update(Job)
        .where(Job.pk.in_(pks), *expired)
        .values(lease_owner=replica, lease_expires_at=now + lease_seconds)
    )
    return taken.rowcount


def adopt_all_running(*, session: Session, replica: str, now: float, lease_seconds: float) -> int:
    """At start-up on SQLite: this process holds the file's lock, so every RUNNING job is ours."""
    adopted = session.execute(
        update(Job)
        .where(Job.state == JobState.RUNNING)
        .values(lease_owner=replica, lease_expires_at=now + lease_seconds)
    )
    return adopted.rowcount


def lock_running_jobs(*, session: Session, replica: str) -> list[RunningJob]:
    """This replica's RUNNING jobs, row-locked so a concurrent cancel waits for our commit."""
    query = (
        select(jobs.c.pk, jobs.c.id, jobs.c.owner, jobs.c.started_at, jobs.c.log_line_count)
        .where(jobs.c.state == JobState.RUNNING, jobs.c.lease_owner == replica)
        .order_by(jobs.c.pk)
        .with_for_update()
    )
    return [RunningJob._make(row) for row in session.execute(query).all()]


def load_specs(*, session: Session, pks: Sequence[int]) -> dict[int, dict[str, Any]]:
    rows = session.execute(select(Job.pk, Job.spec).where(Job.pk.in_(pks)))
    return {pk: spec for pk, spec in rows}


def append_log_lines(*, session: Session, lines: Sequence[dict[str, Any]]) -> None:
    """Insert log lines, each a dict of the `log_lines` columns, in one executemany."""
    if lines:
        _execute_many(session, INSERT_LOG_LINES, lines)


def save_progress(*, session: Session, replica: str, counts: Mapping[int, int]) -> None:
    """Record how many log lines each still-running job has now (pk -> count)."""
    rows = [{"b_pk": pk, "b_replica": replica, "b_count": count} for pk, count in counts.items()]
    if rows and _execute_many(session, SAVE_PROGRESS, rows) != len(rows):
        raise JobsChangedUnderTick("a job left RUNNING under this replica's lease during the tick")


def _execute_many(session: Session, sql: str, rows: Sequence[dict[str, Any]]) -> int:
    """Run `sql` once per row straight through the driver (one executemany); rows changed.

    SQLite's driver takes `:name`; psycopg takes `%(name)s`.
    """
    connection = session.connection()
    return connection.exec_driver_sql(_in_paramstyle(sql, connection.dialect.paramstyle), list(rows)).rowcount


@functools.cache
def _in_paramstyle(sql: str, paramstyle: str) -> str:
    """`sql` with its `:name` placeholders as the driver takes them (once per statement)."""
    return re.sub(r":(\w+)", r"%(\1)s", sql) if paramstyle == "pyformat" else sql


@dataclass(frozen=True)
class Outcome:
    """How a job ended, as the simulation says: written with its last log lines."""

    pk: int
    log_line_count: int
    state: JobState
    finished_at: float
    outputs: dict[str, Any] | None
    error: str | None
    retryable: bool = False


def save_outcomes(*, session: Session, replica: str, outcomes: Sequence[Outcome]) -> None:
    rows = [
        {
            "b_pk": outcome.pk,
            "b_replica": replica,
            "b_count": outcome.log_line_count,
            "b_state": outcome.state.value,
            "b_finished_at": outcome.finished_at,
            "b_outputs": outcome.outputs,
            "b_error": outcome.error,
            "b_retryable": outcome.retryable,
        }
        for outcome in outcomes
    ]
    _update_all(session, SAVE_OUTCOME, rows)


def _update_all(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    """Run a guarded UPDATE per row; every row must match, or the tick is void."""
    if rows and session.execute(statement, rows).rowcount != len(rows):
        raise JobsChangedUnderTick("a job left RUNNING under this replica's lease during the tick")


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
