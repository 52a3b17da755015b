"""Job rows as the API reads and changes them; every function is scoped to one owner."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from batch_service.models import TERMINAL_STATES, Job, JobLabel, JobSpec, JobState


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used, by this owner, for a different spec."""


@dataclass(frozen=True)
class Submission:
    job: Job
    created: bool  # False when an Idempotency-Key replay returned the existing job


def new_job_id() -> str:
    return "job-" + secrets.token_hex(12)


def spec_hash(spec: JobSpec) -> str:
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit_job(
    *, session: Session, owner: str, spec: JobSpec, idempotency_key: str | None, now: float
) -> Submission:
    """Insert a QUEUED job, or return the one this owner already submitted with the same key.

    The unique (owner, idempotency_key) constraint is what makes concurrent submits with one
    key create exactly one job: the losers of the race land in the IntegrityError branch.
    """
    digest = spec_hash(spec)
    if idempotency_key is not None:
        existing = _find_by_idempotency_key(session, owner, idempotency_key)
        if existing is not None:
            return _replay(existing, digest)
    job = Job(
        id=new_job_id(),
        owner=owner,
        name=spec.name,
        state=JobState.QUEUED,
        spec=spec.model_dump(mode="json"),
        created_at=now,
        idempotency_key=idempotency_key,
        spec_hash=digest,
    )
    session.add(job)
    try:
        session.flush()
        session.add_all(JobLabel(job_pk=job.pk, key=k, value=v) for k, v in spec.labels.items())
        session.commit()
    except IntegrityError:
        session.rollback()
        if idempotency_key is None:
            raise
        existing = _find_by_idempotency_key(session, owner, idempotency_key)
        if existing is None:
            raise
        return _replay(existing, digest)
    return Submission(job=job, created=True)


def _find_by_idempotency_key(session: Session, owner: str, key: str) -> Job | None:
    return (
        session.execute(select(Job).where(Job.owner == owner, Job.idempotency_key == key)).scalars().first()
    )


def _replay(existing: Job, digest: str) -> Submission:
    if existing.spec_hash != digest:
        raise IdempotencyConflict("Idempotency-Key was already used with a different job spec")
    return Submission(job=existing, created=False)


def get_job(*, session: Session, owner: str, job_id: str) -> Job | None:
    return session.execute(select(Job).where(Job.id == job_id, Job.owner == owner)).scalars().first()


def get_job_any_owner(*, session: Session, job_id: str) -> Job | None:
    """For the logs token, which names its job rather than an owner."""
    return session.execute(select(Job).where(Job.id == job_id)).scalars().first()


def list_jobs(
    *,
    session: Session,
    owner: str,
    state: JobState | None,
    labels: Sequence[tuple[str, str]],
    before_pk: int | None,
    limit: int,
) -> list[Job]:
    """Newest first, keyset-paged on `pk`: new submissions never shift a page already handed out."""
    query = select(Job).where(Job.owner == owner)
    if state is not None:
        query = query.where(Job.state == state)
    for key, value in labels:
        query = query.where(
            exists().where(JobLabel.job_pk == Job.pk, JobLabel.key == key, JobLabel.value == value)
        )
    if before_pk is not None:
        query = query.where(Job.pk < before_pk)
    return list(session.execute(query.order_by(Job.pk.desc()).limit(limit)).scalars())


def cancel_job(*, session: Session, owner: str, job_id: str, now: float) -> Job | None:
    """Cancel a QUEUED or RUNNING job; a terminal one comes back unchanged, an absent one as None.

    The state guard sits in the UPDATE itself, so a job the scheduler finishes at the same
    moment keeps its real outcome.
    """
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.owner == owner, Job.state.in_([JobState.QUEUED, JobState.RUNNING]))
        .values(state=JobState.CANCELLED, finished_at=now, lease_owner=None, lease_expires_at=None)
    )
    session.commit()
    return get_job(session=session, owner=owner, job_id=job_id)


def count_jobs_by_state(*, session: Session) -> dict[JobState, int]:
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    counts = dict.fromkeys(JobState, 0)
    counts.update({JobState(state): count for state, count in rows})
    return counts


def is_terminal(job: Job) -> bool:
    return JobState(job.state) in TERMINAL_STATES
