"""`/v1/jobs/{id}/usage`: pages of a job's CPU and memory use over its run (see `usage.py`).

Read with the owner's key or the job's logs token, like the log: both are about what the
job did, and the connector's `get_metrics` (like `get_logs`) receives no secrets. A page
also says the job's state and run times, so a reader holding only the logs token (the
dashboard's read-only page) knows where the series stands.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel

from batch_service.api.deps import LogReaderDep
from batch_service.api.errors import JOB_ABSENT
from batch_service.api.responses import json_response
from batch_service.api.routes.logs import readable_job
from batch_service.models import ErrorBody, JobState, rfc3339, stored_spec
from batch_service.simulation import run_length
from batch_service.tokens import InvalidPageToken, decode_page_token, encode_page_token
from batch_service.usage import UsageProfile, sample_interval, samples_reached, usage_sample

router = APIRouter(prefix="/v1/jobs", tags=["usage"])

USAGE_TOKEN = "usage"
MAX_PAGE = 1000


class UsageSamplePublic(BaseModel):
    timestamp: str
    cpu_cores: float
    memory_bytes: int


class UsagePage(BaseModel):
    """Samples in time order; `next_page_token` is null only once the job is terminal and drained."""

    job_id: str
    state: JobState
    started_at: str | None
    finished_at: str | None
    interval_seconds: float
    samples: list[UsageSamplePublic]
    next_page_token: str | None


@router.get(
    "/{job_id}/usage",
    response_model=UsagePage,
    responses={
        400: {"model": ErrorBody, "description": "Bad page_token"},
        **JOB_ABSENT,
    },
)
async def read_usage(
    job_id: str,
    reader: LogReaderDep,
    page_token: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> Response:
    job = await readable_job(reader, job_id)
    try:
        first = decode_page_token(USAGE_TOKEN, page_token) if page_token else 0
    except InvalidPageToken as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
    spec = stored_spec(job["spec"])
    profile = spec.usage or UsageProfile()
    length = run_length(spec)
    state = JobState(job["state"])
    started_at, finished_at = job["started_at"], job["finished_at"]
    reached, samples = 0, []
    if started_at is not None:
        until = finished_at if finished_at is not None else time.time()
        reached = samples_reached(length, started_at, until)
        indexes = range(first, min(reached, first + limit))
        samples = [usage_sample(profile, length, started_at, index) for index in indexes]
    following = first + len(samples)
    drained = state.is_terminal and following >= reached
    return json_response(
        {
            "job_id": job["id"],
            "state": state.value,
            "started_at": rfc3339(started_at),
            "finished_at": rfc3339(finished_at),
            "interval_seconds": sample_interval(length),
            "samples": [
                {
                    "timestamp": rfc3339(sample.timestamp),
                    "cpu_cores": sample.cpu_cores,
                    "memory_bytes": sample.memory_bytes,
                }
                for sample in samples
            ],
            "next_page_token": None if drained else encode_page_token(USAGE_TOKEN, following),
        }
    )
