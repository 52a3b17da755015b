"""`/v1/jobs/{id}/logs`: keyset pages of a job's log, or a live Server-Sent Events follow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, status
from fastapi.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from batch_service.api.deps import LogReader, LogReaderDep, unauthorized
from batch_service.api.errors import JOB_ABSENT, bad_request, job_id_or_404, job_not_found
from batch_service.api.followers import FollowerSlot, TooManyFollowers
from batch_service.api.responses import json_response
from batch_service.feed.follow import follow_lines
from batch_service.feed.reads import read_job
from batch_service.limits import MAX_LOG_PAGE, MAX_SEQ
from batch_service.models import ErrorBody, JobRecord, JobState, LogPage, rfc3339
from batch_service.scenario_calls import count_and_fault
from batch_service.store import jobs as job_store
from batch_service.store import logs as log_store
from batch_service.store.logs import StoredLine
from batch_service.tokens import InvalidPageToken, decode_page_token, encode_page_token

router = APIRouter(prefix="/v1/jobs", tags=["logs"])

LOGS_TOKEN = "logs"
FOLLOWER_RETRY_AFTER_SECONDS = 5


async def readable_job(reader: LogReader, job_id: str) -> JobRecord:
    """The job `reader` may read: its owner's, or the one its logs token is for (404 or 401 else)."""
    services = reader.services
    job_id_or_404(job_id)
    if reader.owner is None:  # a logs token, already checked against this job id
        job = await services.db.read(job_store.get_job_any_owner, job_id=job_id)
        if job is not None and not services.keys.knows(job["owner"]):
            raise unauthorized("this logs token is not valid for this job")  # its owner was removed
    else:
        job = await read_job(services.db, owner=reader.owner, job_id=job_id)
    if job is None:
        raise job_not_found()
    return job


def _public(line: StoredLine) -> dict[str, object]:
    """A line as `LogLinePublic` documents it."""
    return {
        "seq": line.seq,
        "timestamp": rfc3339(line.timestamp),
        "level": line.level,
        "message": line.message,
    }


def _first_seq(page_token: str | None) -> int:
    try:
        return decode_page_token(LOGS_TOKEN, page_token, maximum=MAX_SEQ) if page_token else 0
    except InvalidPageToken as error:
        raise bad_request(str(error)) from error


def _resume_after(last_event_id: str) -> int:
    """The seq after a `Last-Event-ID`, which must be one this stream sent (a line's seq)."""
    if not (last_event_id.isascii() and last_event_id.isdigit()) or int(last_event_id) >= MAX_SEQ:
        raise bad_request(f"Last-Event-ID must be the id of a line event: an integer from 0 to {MAX_SEQ - 1}")
    return int(last_event_id) + 1


@router.get(
    "/{job_id}/logs",
    response_model=LogPage,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "A page, or with follow=true an event stream",
        },
        400: {"model": ErrorBody, "description": "Bad page_token or Last-Event-ID"},
        429: {"model": ErrorBody, "description": "Too many live followers of this job or owner"},
        **JOB_ABSENT,
    },
)
async def read_logs(
    job_id: str,
    reader: LogReaderDep,
    page_token: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_PAGE)] = 100,
    follow: bool = False,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> Response:
    services = reader.services
    job = await readable_job(reader, job_id)
    await count_and_fault(services, job, "logs")
    from_seq = _first_seq(page_token)
    if follow:
        if last_event_id is not None:
            from_seq = _resume_after(last_event_id)
        try:
            slot = services.followers.admit(owner=job["owner"], job_pk=job["pk"])
        except TooManyFollowers as error:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                str(error),
                headers={"Retry-After": str(FOLLOWER_RETRY_AFTER_SECONDS)},
            ) from error
        return FollowResponse(follow_lines(services.db, job["pk"], from_seq), slot)
    current, lines = await services.db.read(
        log_store.read_job_with_lines, job_pk=job["pk"], from_seq=from_seq, limit=limit
    )
    if current is None:  # jobs are never deleted today; if that changes, this is the answer
        raise job_not_found()
    next_seq = from_seq + len(lines)
    drained = JobState(current["state"]).is_terminal and next_seq >= current["log_line_count"]
    return json_response(
        {
            "lines": [_public(line) for line in lines],
            "next_page_token": None if drained else encode_page_token(LOGS_TOKEN, next_seq),
        }
    )


class FollowResponse(StreamingResponse):
    """An SSE stream that gives its follower slot back however it ends (finished, client
    gone, server stopping), including when it never got to send a byte."""

    def __init__(self, events: AsyncIterator[bytes], slot: FollowerSlot) -> None:
        super().__init__(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slot.release()
