"""A live log follow woken by the change feed: the lines a change carries go straight to
the stream; the database is read only to catch up (from `Last-Event-ID`, after a gap, for
another replica's lines, and for the final `end` event)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from batch_service.db import Database
from batch_service.feed.changes import sse_line
from batch_service.models import JobRecord, JobState
from batch_service.store import logs as log_store

READ_BATCH = 1000
KEEPALIVE_SECONDS = 15.0


async def follow_lines(db: Database, job_pk: int, from_seq: int) -> AsyncIterator[str]:
    """Each line from `from_seq` on as an SSE `line` event, exactly once and in order, then
    `end` once the job is finished and drained."""
    subscription = db.feed.subscribe(job_pk)  # before the first read: no change falls between
    next_seq = from_seq
    try:
        catch_up = True
        while True:
            if catch_up:
                subscription.gap = False
                job, lines = await db.read(
                    log_store.read_job_with_lines, job_pk=job_pk, from_seq=next_seq, limit=READ_BATCH
                )
                if job is None:
                    return
                for line in lines:
                    yield sse_line(line.seq, line.timestamp, line.level, line.message)
                next_seq += len(lines)
                if len(lines) == READ_BATCH:
                    continue
                if JobState(job["state"]).is_terminal and next_seq >= job["log_line_count"]:
                    end = {
                        "state": job["state"],
                        "log_line_count": job["log_line_count"],
                        "error": job["error"],
                    }
                    yield f"event: end\ndata: {json.dumps(end)}\n\n"
                    return
                catch_up = False
            if not await subscription.wait(idle_seconds=KEEPALIVE_SECONDS):
                yield ": keep-alive\n\n"
                continue
            catch_up = subscription.gap
            for change in subscription.drain():
                if catch_up:
                    break
                carried = change.sse_lines
                if carried and carried[0][0] <= next_seq:
                    for seq, event in carried:
                        if seq >= next_seq:
                            yield event
                            next_seq = seq + 1
                # Lines it did not carry, or the end (whose error only the row holds): read.
                missing = change.log_line_count is not None and change.log_line_count > next_seq
                catch_up = missing or change.is_terminal or (change.state is None and not carried)
    finally:
        subscription.close()


def end_event(job: JobRecord) -> str:
    end = {"state": job["state"], "log_line_count": job["log_line_count"], "error": job["error"]}
    return f"event: end\ndata: {json.dumps(end)}\n\n"
