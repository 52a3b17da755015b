"""What a change says, and how a writer records one on the session that commits it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from batch_service.models import JobState, rfc3339

PENDING = "feed_pending"  # session.info key: changes recorded, not yet committed


@dataclass(frozen=True)
class JobChange:
    """One job after a committed change. `lines` are the log lines the change appended
    (`seq` order), when the writer had them in hand; None means "look in the database".
    `reset` says every job may be gone (the admin reset). `lines_only` says the change
    appended lines and moved nothing else in the job's row but `log_line_count`."""

    job_pk: int
    job_id: str
    state: str | None = None
    log_line_count: int | None = None
    lines: Sequence[Mapping[str, Any]] | None = None
    reset: bool = False
    lines_only: bool = False

    @property
    def is_terminal(self) -> bool:
        return self.state is not None and JobState(self.state).is_terminal

    @cached_property
    def sse_lines(self) -> list[tuple[int, bytes]]:
        """Each appended line as its SSE event, formatted and encoded once however many
        follow the job."""
        return [
            (line["seq"], sse_line(line["seq"], line["timestamp"], line["level"], line["message"]).encode())
            for line in self.lines or ()
        ]


def sse_line(seq: int, timestamp: float, level: str, message: str) -> str:
    """A log line as an SSE `line` event (id = seq, so a reconnect resumes after it)."""
    public = {"seq": seq, "timestamp": rfc3339(timestamp), "level": level, "message": message}
    return f"id: {seq}\nevent: line\ndata: {json.dumps(public)}\n\n"


def record(session: Session, change: JobChange) -> None:
    """Publish `change` once `session` commits (and never if it rolls back)."""
    session.info.setdefault(PENDING, []).append(change)


def record_reset(session: Session) -> None:
    record(session, JobChange(job_pk=0, job_id="", reset=True))


def pending(session: Session) -> list[JobChange]:
    return session.info.get(PENDING, [])


def take_pending(session: Session) -> list[JobChange]:
    return session.info.pop(PENDING, [])
