"""Each process's heartbeat row: its mark in the database it started on.

The row is written at start, updated by every /readyz, and deleted on a clean shutdown; a
process killed outright leaves its (tiny) row behind. Nothing deletes rows by age: a live
process nobody probed for a week must still find its own row.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from batch_service.models import ReplicaHeartbeat

heartbeats = ReplicaHeartbeat.__table__


def register(*, session: Session, replica: str, now: float) -> None:
    session.execute(insert(heartbeats).values(replica=replica, started_at=now, beat_at=now))
    session.commit()


def beat(*, session: Session, replica: str, now: float) -> bool:
    """A real write; False when this process's row is gone (the database is not the one it
    started on: replaced, restored or recreated)."""
    updated = session.execute(update(heartbeats).where(heartbeats.c.replica == replica).values(beat_at=now))
    session.commit()
    return updated.rowcount == 1


def forget(*, session: Session, replica: str) -> None:
    session.execute(delete(heartbeats).where(heartbeats.c.replica == replica))
    session.commit()
