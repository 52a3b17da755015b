"""Service databases for tests that drive the store or the scheduler without a server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from batch_service.db import Database

DatabaseT = TypeVar("DatabaseT", bound=Database)


@contextmanager
def migrated(database: DatabaseT) -> Iterator[DatabaseT]:
    """`database` with the schema in place, closed (threads and pool) however the test ends."""
    database.migrate()
    try:
        yield database
    finally:
        database.close()
