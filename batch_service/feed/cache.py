"""Job rows kept in memory, served only where that cannot show a client an older state.

A finished job never changes, so its row is kept on every replica. A live job's row is
kept only where every change to it passes through this process (SQLite: one process owns
the file); on PostgreSQL another replica may change it at any moment, so it is read.

A row read from the database joins the cache only if no write began while it was read
(`generation`), and a job whose change is being committed is served from the database
until the commit is over (`_in_flux`): between a commit and its publication a reader may
already see the new row, and the cache must never answer with the row before it.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable

from batch_service.feed.changes import JobChange
from batch_service.models import JobRecord, JobState

CACHED_JOBS = 10_000  # rows kept at most (least recently used go first): about 20 MB
RESET = "*"  # in `_in_flux`: every job is changing (an admin reset)


class JobCache:
    def __init__(self, *, keep_live: bool, capacity: int) -> None:
        self.keep_live = keep_live
        self.capacity = capacity
        self._lock = threading.Lock()
        self._rows: OrderedDict[str, JobRecord] = OrderedDict()
        self._in_flux: Counter[str] = Counter()
        self.generation = 0
        self.hits = 0
        self.misses = 0

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._rows.get(job_id)
            if row is None:
                self.misses += 1
            else:
                self.hits += 1
            return row

    def offer(self, row: JobRecord, *, read_at_generation: int) -> None:
        """Keep `row`, read from the database when `generation` was `read_at_generation`."""
        if not (self.keep_live or JobState(row["state"]).is_terminal):
            return
        job_id = row["id"]
        with self._lock:
            if self.generation != read_at_generation or job_id in self._in_flux or RESET in self._in_flux:
                return
            self._rows[job_id] = row
            if len(self._rows) > self.capacity:
                self._rows.popitem(last=False)

    def begin(self, changes: Iterable[JobChange]) -> None:
        """A commit carrying `changes` is about to happen: stop serving those jobs."""
        with self._lock:
            self.generation += 1
            for key in _keys(changes):
                self._in_flux[key] += 1
                self._drop(key)

    def end(self, changes: Iterable[JobChange]) -> None:
        """The commit begun with `changes` is over (committed or rolled back)."""
        with self._lock:
            self.generation += 1
            for key in _keys(changes):
                self._in_flux[key] -= 1
                if self._in_flux[key] <= 0:
                    del self._in_flux[key]

    def forget(self, changes: Iterable[JobChange]) -> None:
        """Changes another replica committed."""
        with self._lock:
            self.generation += 1
            for key in _keys(changes):
                self._drop(key)

    def forget_all(self) -> None:
        with self._lock:
            self.generation += 1
            self._rows.clear()

    def _drop(self, key: str) -> None:
        if key == RESET:
            self._rows.clear()
        else:
            self._rows.pop(key, None)


def _keys(changes: Iterable[JobChange]) -> list[str]:
    return [RESET if change.reset else change.job_id for change in changes]
