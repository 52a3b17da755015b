"""One process per SQLite file: an exclusive lock on a sidecar `<file>.lock`, held for life.

SQLite would let a second process open the file, and that process would adopt the first
one's RUNNING jobs as its own. `flock` is released by the kernel when its holder exits,
even by kill -9, so a crashed process never leaves a stale lock behind; the lock file
only carries who holds it, for the message a refused process prints.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

_held: dict[Path, tuple[int, int]] = {}  # lock file -> (fd, holders in this process)
_guard = threading.Lock()


class DatabaseInUse(Exception):
    """Another process holds the database file."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def acquire(database: Path) -> Path:
    """Take the lock for `database` (re-entrant within this process); returns the lock file.

    Raises DatabaseInUse naming the holder (pid, host, since) if another process has it.
    """
    path = lock_path(database.resolve())
    with _guard:
        if path in _held:
            fd, count = _held[path]
            _held[path] = (fd, count + 1)
            return path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise DatabaseInUse(f"{database} is in use by {holder} (lock file {path})") from None
        since = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()} since {since}\n".encode(), 0)
        _held[path] = (fd, 1)
        return path


def release(path: Path) -> None:
    """Drop one hold on a lock file; the last one closes it, which unlocks it."""
    with _guard:
        fd, count = _held[path]
        if count > 1:
            _held[path] = (fd, count - 1)
            return
        del _held[path]
        os.close(fd)
