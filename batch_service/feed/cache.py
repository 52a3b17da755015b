"""Job rows kept in memory, served only where that cannot show a client an older state.

A finished job never changes, so its row is kept on every replica. A live job's row is
kept only where every change to it passes through this process (SQLite: one process owns
the file); on PostgreSQL another replica may change it at any moment, so it is read.

A row read from the database joins the cache only if no write began while it was read
(`generation`), and a job whose change is being committed is served from the database
until the commit is over (`_in_flux`): between a commit and its publication a reader may
already see the new row, and the cache must never answer with the row before it.

A change that only appended log lines (`JobChange.lines_only`: the scheduler's progress of a
running job, several times a second for every job with lines due) moves nothing but the line
count. Its job's row is set aside while it commits and comes back with the new count once
it has, so a running job that is being followed or polled is not read from the database
after every tick.
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
        self._set_aside: dict[str, JobRecord] = {}  # rows of jobs whose lines-only change commits
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
            for change in changes:
                key = _key(change)
                self._in_flux[key] += 1
                row = self._drop(key)
                if row is not None and change.lines_only and self._in_flux[key] == 1:
                    self._set_aside[key] = row
                else:
                    self._set_aside.pop(key, None)

    def end(self, changes: Iterable[JobChange], *, committed: bool) -> None:
        """The commit begun with `changes` is over. A row set aside for a lines-only change
        comes back with its new count if that was committed and nothing else is under way."""
        with self._lock:
            self.generation += 1
            for change in changes:
                key = _key(change)
                self._in_flux[key] -= 1
                if self._in_flux[key] <= 0:
                    del self._in_flux[key]
                row = self._set_aside.pop(key, None)
                if row is None or not committed or key in self._in_flux or RESET in self._in_flux:
                    continue
                self._rows[key] = {**row, "log_line_count": change.log_line_count}
                if len(self._rows) > self.capacity:
                    self._rows.popitem(last=False)

    def forget(self, changes: Iterable[JobChange]) -> None:
        """Changes another replica committed."""
        with self._lock:
            self.generation += 1
            for change in changes:
                self._drop(_key(change))

    def forget_all(self) -> None:
        with self._lock:
            self.generation += 1
            self._rows.clear()

    def _drop(self, key: str) -> JobRecord | None:
        """Stop serving `key` (every job, for RESET); the row it had, if any."""
        if key == RESET:
            self._rows.clear()
            self._set_aside.clear()
            return None
        return self._rows.pop(key, None)


def _key(change: JobChange) -> str:
    return RESET if change.reset else change.job_id
