"""A live log follow woken by the change feed: the lines a change carries go straight to
the stream; the database is read only to catch up (from `Last-Event-ID`, after a gap, for
another replica's lines, and for the final `end` event), and that read is shared with the
job's other followers (`catch_up.py`).

Whatever is ready for a follower at once (a catch-up page, or every change queued since it
last woke) goes out as one chunk: each line is still its own SSE event with its own `id`,
but a follower that fell behind costs one write, not one per line.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from batch_service.db import Database
from batch_service.feed.changes import sse_line
from batch_service.models import JobRecord, JobState


async def follow_lines(db: Database, job_pk: int, from_seq: int) -> AsyncIterator[bytes]:
    """Each line from `from_seq` on as an SSE `line` event, exactly once and in order, then
    `end` once the job is finished and drained."""
    subscription = db.feed.subscribe(job_pk)  # before the first read: no change falls between
    next_seq = from_seq
    try:
        catch_up = True
        while True:
            if catch_up:
                subscription.gap = False
                read = await db.feed.catch_up.read(db, job_pk, next_seq)
                if read.job is None:
                    return
                if read.lines:
                    page = (sse_line(ln.seq, ln.timestamp, ln.level, ln.message) for ln in read.lines)
                    yield "".join(page).encode()
                    next_seq = read.lines[-1].seq + 1
                if read.more:
                    continue
                if JobState(read.job["state"]).is_terminal and next_seq >= read.job["log_line_count"]:
                    yield end_event(read.job).encode()
                    return
                catch_up = False
            if not await subscription.wait():  # quiet for KEEPALIVE_SECONDS
                yield b": keep-alive\n\n"
                continue
            catch_up = subscription.gap
            events: list[bytes] = []
            for change in subscription.drain():
                if catch_up:
                    break
                carried = change.sse_lines
                if carried and carried[0][0] <= next_seq:
                    for seq, event in carried:
                        if seq >= next_seq:
                            events.append(event)
                            next_seq = seq + 1
                # Lines it did not carry, or the end (whose error only the row holds): read.
                missing = change.log_line_count is not None and change.log_line_count > next_seq
                catch_up = missing or change.is_terminal or (change.state is None and not carried)
            if events:
                yield b"".join(events)
    finally:
        subscription.close()


def end_event(job: JobRecord) -> str:
    end = {"state": job["state"], "log_line_count": job["log_line_count"], "error": job["error"]}
    return f"event: end\ndata: {json.dumps(end)}\n\n"
