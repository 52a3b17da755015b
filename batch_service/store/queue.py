"""Starting queued jobs into free slots, fairly between owners.

Strict FIFO let one owner's 2,000 queued jobs keep everyone else QUEUED for as long as they
took. Here each free slot of this replica goes to the owner running the fewest jobs on it
(a max-min fair share, `fair_share.py`), ties to the owner whose oldest queued job has
waited longest, and no owner runs more than `per_owner` jobs here; within an owner, oldest
first. Owners with queued jobs are found by a loose index scan of (state, owner, pk), so a
tick costs per owner waiting, not per job waiting. On PostgreSQL the rows are taken with
`FOR UPDATE SKIP LOCKED`, so replicas claiming at once never take the same job.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from batch_service.fair_share import fair_shares
from batch_service.models import Job, JobState

# One index probe per owner: the next owner name after the last, then its oldest job.
QUEUED_OWNERS = text(
    """
    WITH RECURSIVE waiting(owner) AS (
        SELECT min(owner) FROM jobs WHERE state = 'QUEUED'
        UNION ALL
        SELECT (SELECT min(later.owner) FROM jobs AS later
                WHERE later.state = 'QUEUED' AND later.owner > waiting.owner)
        FROM waiting WHERE waiting.owner IS NOT NULL
    )
    SELECT owner, (SELECT min(oldest.pk) FROM jobs AS oldest
                   WHERE oldest.state = 'QUEUED' AND oldest.owner = waiting.owner) AS oldest_pk
    FROM waiting WHERE owner IS NOT NULL
    """
)


def claim_queued_jobs(
    *, session: Session, replica: str, now: float, lease_seconds: float, capacity: int, per_owner: int
) -> list[tuple[int, str]]:
    """Start QUEUED jobs into this replica's free slots, shared fairly; their (pk, id)."""
    running = dict(
        session.execute(
            select(Job.owner, func.count())
            .where(Job.state == JobState.RUNNING, Job.lease_owner == replica)
            .group_by(Job.owner)
        ).all()
    )
    free = capacity - sum(running.values())
    if free <= 0:
        return []
    waiting = sorted(session.execute(QUEUED_OWNERS).all(), key=lambda row: row.oldest_pk)
    room = {owner: max(0, min(free, per_owner - running.get(owner, 0))) for owner, _ in waiting}
    startable: dict[str, list[tuple[int, str]]] = {}
    while True:  # an owner's share may exceed what it can start now (not_before, locked rows)
        demands = {owner: len(startable[owner]) if owner in startable else room[owner] for owner in room}
        shares = fair_shares(demands, free, held=running)
        unseen = [owner for owner, share in shares.items() if share and owner not in startable]
        if not unseen:
            break
        for owner in unseen:
            startable[owner] = _startable(session, owner=owner, limit=room[owner], now=now)
    claimed = [job for owner, share in shares.items() if share for job in startable[owner][:share]]
    if claimed:
        session.execute(
            update(Job)
            .where(Job.pk.in_([pk for pk, _ in claimed]), Job.state == JobState.QUEUED)
            .values(
                state=JobState.RUNNING,
                started_at=now,
                lease_owner=replica,
                lease_expires_at=now + lease_seconds,
            )
        )
    return claimed


def _startable(session: Session, *, owner: str, limit: int, now: float) -> list[tuple[int, str]]:
    """An owner's oldest QUEUED jobs whose time has come, row-locked (skipping locked ones)."""
    oldest = (
        select(Job.pk, Job.id)
        .where(
            Job.state == JobState.QUEUED,
            Job.owner == owner,
            or_(Job.not_before.is_(None), Job.not_before <= now),
        )
        .order_by(Job.pk)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(pk, job_id) for pk, job_id in session.execute(oldest)]
