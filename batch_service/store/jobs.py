"""Job rows as the API reads and changes them; every function is scoped to one owner.

These are the API's hot paths, so they use SQLAlchemy Core (no ORM unit of work) and hand
back rows as mappings, which `job_document` turns into JSON.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from batch_service.feed import JobChange, record
from batch_service.models import ACTIVE_STATES, Job, JobLabel, JobRecord, JobSpec, JobState
from batch_service.scenario_run import not_before

jobs = Job.__table__
job_labels = JobLabel.__table__
# Built once and executed with parameters, so SQLAlchemy compiles them once (statement cache).
INSERT_JOBS = insert(jobs).returning(jobs.c.pk, sort_by_parameter_order=True)
INSERT_LABELS = insert(job_labels)
SELECT_OWNED_JOB = select(jobs).where(jobs.c.id == bindparam("job_id"), jobs.c.owner == bindparam("owner"))
SUMMARY_COLUMNS = tuple(
    jobs.c[name]
    for name in ("pk", "id", "name", "state", "created_at", "started_at", "finished_at", "log_line_count")
)
SELECT_ANY_JOB = select(jobs).where(jobs.c.id == bindparam("job_id"))
SELECT_BY_IDEMPOTENCY_KEYS = select(jobs).where(
    jobs.c.owner == bindparam("owner"), jobs.c.idempotency_key.in_(bindparam("keys", expanding=True))
)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used, by this owner, for a different spec."""


@dataclass(frozen=True)
class Submission:
    job: JobRecord
    created: bool  # False when an Idempotency-Key replay returned the existing job


@dataclass(frozen=True)
class NewJob:
    """A job's row, already serialized, and its labels: ready to insert."""

    row: dict[str, object]
    labels: dict[str, str]


def new_job_id() -> str:
    return "job-" + secrets.token_hex(12)


def spec_hash(spec_json: dict[str, object]) -> str:
    canonical = json.dumps(spec_json, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def prepare_job(*, owner: str, spec: JobSpec, idempotency_key: str | None, now: float) -> NewJob:
    """Serialize a spec into its row in the submitting request, so a spec that cannot be
    serialized fails that request alone, never a batch it would have shared."""
    spec_json = spec.model_dump(mode="json")
    row = {
        "id": new_job_id(),
        "owner": owner,
        "name": spec.name,
        "state": JobState.QUEUED.value,
        "spec": spec_json,
        "outputs": None,
        "error": None,
        "created_at": now,
        "started_at": None,
        "finished_at": None,
        "log_line_count": 0,
        "idempotency_key": idempotency_key,
        "spec_hash": spec_hash(spec_json),
        "lease_owner": None,
        "lease_expires_at": None,
        "get_calls": 0,
        "log_calls": 0,
        "cancel_calls": 0,
        "not_before": not_before(spec, now),
        "retryable": False,
    }
    return NewJob(row=row, labels=dict(spec.labels))


def insert_jobs(*, session: Session, jobs: Sequence[NewJob]) -> list[JobRecord]:
    """Insert job rows and their labels in the caller's transaction (the caller commits)."""
    inserted = session.execute(INSERT_JOBS, [job.row for job in jobs]).scalars().all()
    labels = [
        {"job_pk": pk, "key": key, "value": value}
        for pk, job in zip(inserted, jobs, strict=True)
        for key, value in job.labels.items()
    ]
    if labels:
        session.execute(INSERT_LABELS, labels)
    for pk, job in zip(inserted, jobs, strict=True):
        record(session, JobChange(pk, str(job.row["id"]), JobState.QUEUED.value, 0, lines=()))
    return [{**job.row, "pk": pk} for job, pk in zip(jobs, inserted, strict=True)]


def submit_jobs(*, session: Session, jobs: Sequence[NewJob]) -> list[JobRecord]:
    """Insert many QUEUED jobs (without idempotency keys) in one transaction: a group commit."""
    records = insert_jobs(session=session, jobs=jobs)
    session.commit()
    return records


def submit_job(
    *, session: Session, owner: str, spec: JobSpec, idempotency_key: str | None, now: float
) -> Submission:
    """Insert a QUEUED job, or return the one this owner already submitted with the same key."""
    job = prepare_job(owner=owner, spec=spec, idempotency_key=idempotency_key, now=now)
    if idempotency_key is None:
        return Submission(job=submit_jobs(session=session, jobs=[job])[0], created=True)
    (record,), created = _insert_once(session, owner, [job], [idempotency_key])
    return Submission(job=record, created=created)


@dataclass(frozen=True)
class BatchSubmission:
    jobs: list[JobRecord]
    created: bool  # False when an Idempotency-Key replay returned the batch first submitted


# A batch's jobs carry keys no client can send (a client's key is printable ASCII), so a
# batch and a single submit never share one: "\x1e" + the key's digest + ":" + the position.
BATCH_KEY_MARK = "\x1e"


def batch_member_keys(idempotency_key: str, count: int) -> list[str]:
    """The stored keys of the first `count` jobs of the batch submitted with `idempotency_key`
    (a digest: the key may be 255 characters already, and so is the column)."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return [f"{BATCH_KEY_MARK}{digest}:{position}" for position in range(count)]


def submit_batch_with_key(
    *, session: Session, owner: str, specs: Sequence[JobSpec], idempotency_key: str, now: float
) -> BatchSubmission:
    """Insert a batch of QUEUED jobs in one transaction, or return the batch this owner already
    submitted with the same key. The key one past the batch's end is looked up too: found, it
    means an earlier, longer batch under this key, which is another body (409)."""
    keys = batch_member_keys(idempotency_key, len(specs) + 1)
    jobs = [
        prepare_job(owner=owner, spec=spec, idempotency_key=key, now=now)
        for spec, key in zip(specs, keys, strict=False)
    ]
    records, created = _insert_once(session, owner, jobs, keys)
    return BatchSubmission(jobs=records, created=created)


def _insert_once(
    session: Session, owner: str, jobs: Sequence[NewJob], lookup_keys: Sequence[str]
) -> tuple[list[JobRecord], bool]:
    """Insert keyed jobs, or replay the ones stored under `lookup_keys` (their keys, and for a
    batch the key past its end); whether they were created.

    The unique (owner, idempotency_key) constraint is what makes concurrent submits with one
    key create exactly one set of jobs: the losers of the race land in the IntegrityError branch.
    """
    existing = _find_by_keys(session, owner, lookup_keys)
    if existing:
        return _replay(existing, jobs), False
    try:
        records = insert_jobs(session=session, jobs=jobs)
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = _find_by_keys(session, owner, lookup_keys)
        if not existing:
            raise
        return _replay(existing, jobs), False
    return records, True


def _find_by_keys(session: Session, owner: str, keys: Sequence[str]) -> dict[str, JobRecord]:
    rows = session.execute(SELECT_BY_IDEMPOTENCY_KEYS, {"owner": owner, "keys": list(keys)}).mappings()
    return {row["idempotency_key"]: row for row in rows}


def _replay(existing: dict[str, JobRecord], jobs: Sequence[NewJob]) -> list[JobRecord]:
    """The stored jobs, if they are exactly `jobs` (same count, same specs in the same order)."""
    same = len(existing) == len(jobs) and all(
        (row := existing.get(str(job.row["idempotency_key"]))) is not None
        and row["spec_hash"] == job.row["spec_hash"]
        for job in jobs
    )
    if not same:
        raise IdempotencyConflict("Idempotency-Key was already used with a different job spec")
    return [existing[str(job.row["idempotency_key"])] for job in jobs]


def get_job(*, session: Session, owner: str, job_id: str) -> JobRecord | None:
    return session.execute(SELECT_OWNED_JOB, {"job_id": job_id, "owner": owner}).mappings().first()


def get_job_any_owner(*, session: Session, job_id: str) -> JobRecord | None:
    """For the logs token, which names its job rather than an owner."""
    return session.execute(SELECT_ANY_JOB, {"job_id": job_id}).mappings().first()


def list_jobs(
    *,
    session: Session,
    owner: str,
    state: JobState | None,
    labels: Sequence[tuple[str, str]],
    before_pk: int | None,
    limit: int,
) -> list[JobRecord]:
    """Job summaries (`SUMMARY_COLUMNS` and `labels`), newest first, keyset-paged on `pk`:
    new submissions never shift a page already handed out. The spec and outputs columns are
    never read, so a page costs the same whatever the jobs carry."""
    query = select(*SUMMARY_COLUMNS).where(jobs.c.owner == owner)
    if state is not None:
        query = query.where(jobs.c.state == state)
    for key, value in labels:
        query = query.where(
            exists().where(JobLabel.job_pk == jobs.c.pk, JobLabel.key == key, JobLabel.value == value)
        )
    if before_pk is not None:
        query = query.where(jobs.c.pk < before_pk)
    rows = list(session.execute(query.order_by(jobs.c.pk.desc()).limit(limit)).mappings())
    labels_by_pk: dict[int, dict[str, str]] = {row["pk"]: {} for row in rows}
    if rows:
        found = select(job_labels).where(job_labels.c.job_pk.in_(labels_by_pk)).order_by(job_labels.c.key)
        for label in session.execute(found):
            labels_by_pk[label.job_pk][label.key] = label.value
    return [{**row, "labels": labels_by_pk[row["pk"]]} for row in rows]


def cancel_job(*, session: Session, owner: str, job_id: str, now: float) -> JobRecord | None:
    """Cancel a QUEUED or RUNNING job; a terminal one comes back unchanged, an absent one as None.

    The state guard sits in the UPDATE itself, so a job the scheduler finishes at the same
    moment keeps its real outcome.
    """
    cancelled = session.execute(
        update(jobs)
        .where(
            jobs.c.id == job_id,
            jobs.c.owner == owner,
            jobs.c.state.in_(sorted(ACTIVE_STATES)),
        )
        .values(state=JobState.CANCELLED, finished_at=now, lease_owner=None, lease_expires_at=None)
        .returning(jobs.c.pk)
    ).scalar_one_or_none()
    if cancelled is not None:
        record(session, JobChange(cancelled, job_id, JobState.CANCELLED.value))
    session.commit()
    return get_job(session=session, owner=owner, job_id=job_id)


def count_jobs_by_state(*, session: Session) -> dict[JobState, int]:
    rows = session.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state)).all()
    counts = dict.fromkeys(JobState, 0)
    counts.update({JobState(state): count for state, count in rows})
    return counts
