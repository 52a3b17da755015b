"""The SQLite file under a running service: locked to this process, and still in place.

SQLite keeps writing to a file that was deleted (the open descriptors outlive the name),
so after `rm batch.db*` every commit "succeeds" into an inode that vanishes at the next
restart. Comparing the files at the path with the ones opened at start (device and inode)
is what tells a durable commit from a lost one.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import make_url

from batch_service import sqlite_lock
from batch_service.storage_errors import StoreUnavailable

FileIdentity = tuple[int, int]  # (st_dev, st_ino)


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class SqliteFile:
    """Holds the file's lock from construction; `pin` it once the schema is in place."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self._lock: Path | None = sqlite_lock.acquire(self.path)
        self._anchor: sqlite3.Connection | None = None
        self._identity: dict[Path, FileIdentity] = {}

    @property
    def _files(self) -> tuple[Path, Path]:
        return self.path, self.path.with_name(self.path.name + "-wal")

    def pin(self) -> None:
        """Remember which files these are. A connection held open for the process's life
        keeps the -wal file in place (SQLite deletes it when its last connection closes)."""
        self._anchor = sqlite3.connect(self.path, check_same_thread=False)
        self._anchor.execute("SELECT count(*) FROM sqlite_master").fetchone()
        self._identity = {path: _identify(path) for path in self._files}

    def check(self) -> None:
        """Raise StoreUnavailable unless the files at the path are the ones pinned."""
        for path, pinned in self._identity.items():
            try:
                current = _identify(path)
            except FileNotFoundError:
                raise StoreUnavailable(f"the database file {path.name} was removed") from None
            if current != pinned:
                raise StoreUnavailable(f"the database file {path.name} was replaced")

    def close(self) -> None:
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None
        if self._lock is not None:  # closing twice must not release another holder's hold
            sqlite_lock.release(self._lock)
            self._lock = None


def _identify(path: Path) -> FileIdentity:
    status = os.stat(path)
    return status.st_dev, status.st_ino
