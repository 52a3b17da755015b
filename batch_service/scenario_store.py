"""The SQL of scenarios: counting the calls made about a job, and moving it on by polls.

A GET of a job whose scenario moves by polls (or fails some GETs) is a write: the row is
locked, its GET count goes up, and what the count now makes due (a start, lines, the end)
is applied in the same transaction. The answer therefore always shows the state the count
implies, on any replica, and a restart neither forgets nor replays a poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from batch_service.feed import JobChange, record
from batch_service.models import Job, JobRecord, JobSpec, JobState, LogLine, stored_spec
from batch_service.scenario import CallFault
from batch_service.scenario_run import (
    answered_polls,
    ending,
    finishes_by_polls,
    get_fault,
    line_at,
    poll_progress,
)
from batch_service.simulation import final_outputs

jobs = Job.__table__
SELECT_OWNED_JOB_FOR_UPDATE = (
    select(jobs).where(jobs.c.id == bindparam("job_id"), jobs.c.owner == bindparam("owner")).with_for_update()
)
CountedCall = Literal["log_calls", "cancel_calls"]


@dataclass(frozen=True)
class Poll:
    """A GET of a job: the job as it now stands, and the fault (if any) this GET gets."""

    job: JobRecord
    fault: CallFault | None


@dataclass(frozen=True)
class Lease:
    """Who runs a job started by a poll: this replica's scheduler, at the service's time."""

    replica: str
    now: float
    lease_seconds: float


def poll_job(*, session: Session, owner: str, job_id: str, lease: Lease) -> Poll | None:
    row = session.execute(SELECT_OWNED_JOB_FOR_UPDATE, {"job_id": job_id, "owner": owner}).mappings().first()
    if row is None:
        return None
    spec = stored_spec(row["spec"])
    calls = row["get_calls"] + 1
    changes: dict[str, Any] = {"get_calls": calls}
    fault = get_fault(spec)
    this_call_fault = fault if fault is not None and fault.covers(calls) else None
    if this_call_fault is None or not this_call_fault.answers:
        lines = _advance_by_polls(spec, row, answered_polls(spec, calls - 1), lease, changes)
        if lines:
            session.execute(insert(LogLine), lines)
        if lines or "state" in changes:
            moved = {**row, **changes}
            record(session, JobChange(row["pk"], row["id"], moved["state"], moved["log_line_count"], lines))
    session.execute(update(jobs).where(jobs.c.pk == row["pk"]).values(**changes))
    session.commit()
    return Poll(job={**row, **changes}, fault=this_call_fault)


def _advance_by_polls(
    spec: JobSpec, row: JobRecord, polls: int, lease: Lease, changes: dict[str, Any]
) -> list[dict[str, Any]]:
    """Apply what `polls` answered GETs make due; fill `changes`, return the new log lines."""
    scenario = spec.scenario
    if scenario is None:
        return []
    state = row["state"]
    if state == JobState.QUEUED and scenario.starts_by_polls and polls >= scenario.start_poll:
        queued_until = row["created_at"] + scenario.queued_seconds
        if lease.now < queued_until:
            changes["not_before"] = queued_until  # the scheduler starts it when its time comes
            return []
        state = JobState.RUNNING
        changes.update(
            state=state,
            started_at=lease.now,
            not_before=None,
            lease_owner=lease.replica,
            lease_expires_at=lease.now + lease.lease_seconds,
        )
    if state != JobState.RUNNING or not finishes_by_polls(spec):
        return []
    progress = poll_progress(spec, polls)
    written = row["log_line_count"]
    lines = [
        {
            "job_pk": row["pk"],
            "seq": line.seq,
            "timestamp": line.timestamp,
            "level": line.level,
            "message": line.message,
        }
        for line in (line_at(spec, seq, lease.now) for seq in range(written, progress.lines_due))
    ]
    changes["log_line_count"] = max(written, progress.lines_due)
    if progress.outcome is not None:
        end = ending(spec)
        changes.update(
            state=end.state,
            finished_at=lease.now,
            outputs=final_outputs(spec, row["id"]) if end.state is JobState.SUCCEEDED else None,
            error=end.error,
            retryable=end.retryable,
            lease_owner=None,
            lease_expires_at=None,
        )
    return lines


def count_call(*, session: Session, job_pk: int, counter: CountedCall) -> int:
    """Count one more call of a kind about a job; the number of this call, from 1."""
    column = jobs.c[counter]
    number = session.execute(
        update(jobs).where(jobs.c.pk == job_pk).values({column: column + 1}).returning(column)
    ).scalar_one()
    session.commit()
    return int(number)
