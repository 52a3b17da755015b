"""The journal: the last N API calls, so a test can assert what a client sent and when.

Each entry says when the call arrived (wall time, whatever the test clock says), its
method, route template, job id, status, owner, Idempotency-Key and which fault fired. It
never holds a key or token: the owner is looked up from the key, and the job id is kept
only when it looks like one (a key pasted into a URL stays out).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

JOB_ID = re.compile(r"^job-[0-9a-f]{24}$")


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    time: str  # RFC 3339, wall time of arrival
    method: str
    route: str | None  # the template, e.g. /v1/jobs/{job_id}; None when no route matched
    job_id: str | None
    status: int | None  # None when the connection was dropped
    owner: str | None
    credential: str  # "api_key", "logs_token", "none" or "invalid"
    idempotency_key: str | None
    fault: str | None  # the rule or scenario fault that fired
    duration_ms: float


def journal_job_id(path_params: dict[str, Any]) -> str | None:
    job_id = path_params.get("job_id")
    return job_id if isinstance(job_id, str) and JOB_ID.match(job_id) else None


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._seq = 0
        self._lock = threading.Lock()

    def record(self, **fields: Any) -> None:
        with self._lock:
            self._seq += 1
            self._entries.append(JournalEntry(seq=self._seq, **fields))

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Oldest first; with `limit`, the newest `limit` calls."""
        with self._lock:
            chosen = list(self._entries)
        return [asdict(entry) for entry in (chosen[-limit:] if limit else chosen)]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
