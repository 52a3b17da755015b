"""The service's clock: wall time plus an offset that only the test clock moves.

Everything that happens to jobs (when they were made, started and finished, when their
lines are due, when they time out) reads this clock, so moving it forward makes a
one-hour job finish at once, with its lines and outputs exactly as if the hour had passed.
The offset lives in the database (`service_secrets`), where every replica reads it, and it
only ever grows until a reset.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from batch_service.db import Database
from batch_service.models import ServiceSecret

logger = logging.getLogger("batch_service.clock")

OFFSET_NAME = "clock_offset_seconds"


def read_offset(*, session: Session) -> float:
    value = session.execute(select(ServiceSecret.value).where(ServiceSecret.name == OFFSET_NAME)).scalar()
    return float(value) if value is not None else 0.0


def add_offset(*, session: Session, seconds: float) -> float:
    """Move the stored offset forward by `seconds` (under a row lock on PostgreSQL); the new offset."""
    stored = session.execute(
        select(ServiceSecret).where(ServiceSecret.name == OFFSET_NAME).with_for_update()
    ).scalar()
    if stored is None:
        stored = ServiceSecret(name=OFFSET_NAME, value="0")
        session.add(stored)
    offset = float(stored.value) + seconds
    stored.value = repr(offset)
    session.commit()
    return offset


def clear_offset(*, session: Session) -> None:
    stored = session.get(ServiceSecret, OFFSET_NAME)
    if stored is not None:
        session.delete(stored)
    session.commit()


class ServiceClock:
    """`now()` is what the service takes the time to be; in test mode it can be advanced."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    @classmethod
    async def load(cls, db: Database) -> ServiceClock:
        return cls(await db.read(read_offset))

    async def advance(self, db: Database, seconds: float) -> None:
        self.offset = max(self.offset, await db.write(add_offset, seconds=seconds))

    async def reset(self, db: Database) -> None:
        await db.write(clear_offset)
        self.offset = 0.0

    async def follow(self, db: Database, period: float) -> None:
        """Keep up with advances made through another replica (runs for the life of the app)."""
        while True:
            await asyncio.sleep(period)
            try:
                self.offset = await db.read(read_offset)
            except Exception:
                logger.exception("could not read the test clock's offset; keeping %.3f s", self.offset)
