"""State control: force a job to a state as the scheduler would, and reset the service.

Forcing keeps a job's story consistent: a job forced to end has the lines the scheduler
would have written for that end (spread evenly up to now, after any already written), its
outputs or error, and state times in order (created ≤ started ≤ its lines ≤ finished).
Only forward moves are allowed; a finished job stays finished.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from batch_service.feed import JobChange, record, record_reset
from batch_service.models import Job, JobLabel, JobRecord, JobSpec, JobState, LogLine, stored_spec
from batch_service.scenario_run import Ending, ending, line_at
from batch_service.scenario_store import Lease
from batch_service.simulation import final_error, final_outputs, progress_at

jobs = Job.__table__
FORCED_FAILURE = "forced to FAILED by an admin"


class ForcedState(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    state: JobState = Field(strict=False, description="RUNNING, or a terminal state")
    message: (
        Annotated[str, StringConstraints(min_length=1, max_length=10_000, pattern=r"^[^\x00]*$")] | None
    ) = Field(None, description="the error of a FAILED job (default: the spec's own, or a note)")
    retryable: bool = Field(False, description="mark a FAILED job's failure transient")

    @model_validator(mode="after")
    def _failure_details_go_with_failed(self) -> ForcedState:
        if (self.message is not None or self.retryable) and self.state is not JobState.FAILED:
            raise ValueError("message and retryable go with state FAILED only")
        return self


class InvalidTransition(ValueError):
    """The job cannot move to the asked state (it is finished, or the move goes backwards)."""


def force_state(*, session: Session, job_id: str, forced: ForcedState, lease: Lease) -> JobRecord | None:
    row = session.execute(select(jobs).where(jobs.c.id == job_id).with_for_update()).mappings().first()
    if row is None:
        return None
    current, target = JobState(row["state"]), forced.state
    if current is target:
        return row
    if current.is_terminal:
        raise InvalidTransition(f"job {job_id} is already {current.value}; a finished job stays finished")
    if target is JobState.QUEUED:
        raise InvalidTransition(f"a {current.value} job cannot go back to QUEUED")
    spec = stored_spec(row["spec"])
    now = lease.now
    started_at = row["started_at"] if row["started_at"] is not None else now
    changes: dict[str, Any] = {"state": target, "started_at": started_at, "not_before": None}
    lines: list[dict[str, Any]] = []
    if target is JobState.RUNNING:
        changes.update(lease_owner=lease.replica, lease_expires_at=now + lease.lease_seconds)
    else:
        end = _forced_ending(spec, forced)
        lines = _remaining_lines(session, spec, row, end, started_at, now)
        if lines:
            session.execute(insert(LogLine), lines)
        changes.update(
            finished_at=now,
            log_line_count=row["log_line_count"] + len(lines),
            outputs=final_outputs(spec, row["id"]) if target is JobState.SUCCEEDED else None,
            error=end.error,
            retryable=end.retryable,
            lease_owner=None,
            lease_expires_at=None,
        )
    session.execute(update(jobs).where(jobs.c.pk == row["pk"]).values(**changes))
    forced_row = {**row, **changes}
    change = JobChange(row["pk"], row["id"], target.value, forced_row["log_line_count"], lines=lines)
    record(session, change)
    session.commit()
    return forced_row


def _forced_ending(spec: JobSpec, forced: ForcedState) -> Ending:
    if forced.state is JobState.FAILED:
        own = ending(spec)
        message = forced.message or (own.error if own.state is JobState.FAILED else None) or FORCED_FAILURE
        return Ending(JobState.FAILED, message, retryable=forced.retryable)
    return Ending(forced.state, final_error(spec, forced.state))


def _lines_for(spec: JobSpec, end: Ending, written: int) -> int:
    """How many lines the job has once it ends as `end`: all of them, the ones due by its
    timeout, or (cancelled) just those already written."""
    if end.state is JobState.CANCELLED:
        return written
    if end.state is JobState.TIMED_OUT:
        return max(written, progress_at(spec, 0.0, float(spec.timeout_seconds)).lines_due)
    return spec.log_lines


def _remaining_lines(
    session: Session, spec: JobSpec, row: JobRecord, end: Ending, started_at: float, now: float
) -> list[dict[str, Any]]:
    written = row["log_line_count"]
    total = _lines_for(spec, end, written)
    if total <= written:
        return []
    last = session.execute(
        select(LogLine.timestamp).where(LogLine.job_pk == row["pk"]).order_by(LogLine.seq.desc()).limit(1)
    ).scalar()
    since = max(started_at, last) if last is not None else started_at
    since = min(since, now)
    count = total - written
    lines = []
    for index, seq in enumerate(range(written, total), start=1):
        line = line_at(spec, seq, since + (now - since) * index / count, end)
        lines.append(
            {
                "job_pk": row["pk"],
                "seq": seq,
                "timestamp": line.timestamp,
                "level": line.level,
                "message": line.message,
            }
        )
    return lines


def reset_jobs(*, session: Session) -> None:
    """Delete every job, its labels and its log. Keys and secrets stay."""
    session.execute(delete(LogLine))
    session.execute(delete(JobLabel))
    session.execute(delete(Job))
    record_reset(session)
    session.commit()
