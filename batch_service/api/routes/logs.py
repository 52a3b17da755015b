"""`/v1/jobs/{id}/logs`: keyset pages of a job's log, or a live Server-Sent Events follow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, status
from fastapi.responses import Response, StreamingResponse

from batch_service.api.deps import LogReader, LogReaderDep, unauthorized
from batch_service.api.responses import json_response
from batch_service.feed.follow import follow_lines
from batch_service.feed.reads import read_job
from batch_service.models import ErrorBody, JobRecord, JobState, LogLine, LogPage, rfc3339
from batch_service.scenario_calls import count_and_fault
from batch_service.store import jobs as job_store
from batch_service.store import logs as log_store
from batch_service.tokens import InvalidPageToken, decode_page_token, encode_page_token

router = APIRouter(prefix="/v1/jobs", tags=["logs"])

LOGS_TOKEN = "logs"


async def readable_job(reader: LogReader, job_id: str) -> JobRecord:
    """The job `reader` may read: its owner's, or the one its logs token is for (404 or 401 else)."""
    services = reader.services
    if reader.logs_token is not None:
        if not services.logs_tokens.is_valid(reader.logs_token, job_id):
            raise unauthorized("this logs token is not valid for this job")
        job = await services.db.read(job_store.get_job_any_owner, job_id=job_id)
    else:
        job = await read_job(services.db, owner=reader.owner, job_id=job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "job not found")
    return job


def _public(line: LogLine) -> dict[str, object]:
    """A line as `LogLinePublic` documents it."""
    return {
        "seq": line.seq,
        "timestamp": rfc3339(line.timestamp),
        "level": line.level,
        "message": line.message,
    }


@router.get(
    "/{job_id}/logs",
    response_model=LogPage,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "A page, or with follow=true an event stream",
        },
        400: {"model": ErrorBody, "description": "Bad page_token"},
        404: {"model": ErrorBody, "description": "job not found"},
    },
)
async def read_logs(
    job_id: str,
    reader: LogReaderDep,
    page_token: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    follow: bool = False,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> Response:
    services = reader.services
    job = await readable_job(reader, job_id)
    await count_and_fault(services, job, "logs")
    try:
        from_seq = decode_page_token(LOGS_TOKEN, page_token) if page_token else 0
    except InvalidPageToken as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
    if follow:
        if last_event_id is not None and last_event_id.isdigit():
            from_seq = int(last_event_id) + 1
        return StreamingResponse(
            follow_lines(services.db, job["pk"], from_seq),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    current, lines = await services.db.read(
        log_store.read_job_with_lines, job_pk=job["pk"], from_seq=from_seq, limit=limit
    )
    assert current is not None
    next_seq = from_seq + len(lines)
    drained = JobState(current["state"]).is_terminal and next_seq >= current["log_line_count"]
    return json_response(
        {
            "lines": [_public(line) for line in lines],
            "next_page_token": None if drained else encode_page_token(LOGS_TOKEN, next_seq),
        }
    )
