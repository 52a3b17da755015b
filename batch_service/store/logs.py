"""Log pages: keyset reads on `(job_pk, seq)`, so line 1,000,000 costs what line 0 does."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from batch_service.models import Job, JobRecord, LogLine

# A stored line as plain columns (`.seq`, `.timestamp`, `.level`, `.message`), not an ORM
# object: building 1,000 instrumented `LogLine`s was about half the CPU of a log page.
StoredLine = Row[tuple[int, float, str, str]]
LINE_COLUMNS = (LogLine.seq, LogLine.timestamp, LogLine.level, LogLine.message)


def read_log_lines(*, session: Session, job_pk: int, from_seq: int, limit: int) -> Sequence[StoredLine]:
    query = (
        select(*LINE_COLUMNS)
        .where(LogLine.job_pk == job_pk, LogLine.seq >= from_seq)
        .order_by(LogLine.seq)
        .limit(limit)
    )
    return session.execute(query).all()


def read_job_with_lines(
    *, session: Session, job_pk: int, from_seq: int, limit: int
) -> tuple[JobRecord | None, Sequence[StoredLine]]:
    """The job, then a page of its lines.

    The order matters: a job's last lines commit with its terminal state, so a job already
    seen terminal has all its lines stored, and an empty page then really means "drained".
    """
    job = session.execute(select(Job.__table__).where(Job.pk == job_pk)).mappings().first()
    return job, read_log_lines(session=session, job_pk=job_pk, from_seq=from_seq, limit=limit)
