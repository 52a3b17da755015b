"""Log pages: keyset reads on `(job_pk, seq)`, so line 1,000,000 costs what line 0 does."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from batch_service.models import Job, JobRecord, LogLine


def read_log_lines(*, session: Session, job_pk: int, from_seq: int, limit: int) -> list[LogLine]:
    query = (
        select(LogLine)
        .where(LogLine.job_pk == job_pk, LogLine.seq >= from_seq)
        .order_by(LogLine.seq)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def read_job_with_lines(
    *, session: Session, job_pk: int, from_seq: int, limit: int
) -> tuple[JobRecord | None, list[LogLine]]:
    """The job, then a page of its lines.

    The order matters: a job's last lines commit with its terminal state, so a job already
    seen terminal has all its lines stored, and an empty page then really means "drained".
    """
    job = session.execute(select(Job.__table__).where(Job.pk == job_pk)).mappings().first()
    return job, read_log_lines(session=session, job_pk=job_pk, from_seq=from_seq, limit=limit)
