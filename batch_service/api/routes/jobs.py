"""`/v1/jobs`: submit, describe, list and cancel an owner's jobs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from pydantic import StringConstraints
from pydantic_core import to_json

from batch_service.api.deps import CallerDep, owner_bucket
from batch_service.api.errors import JOB_ABSENT, bad_request, job_id_or_404, job_not_found
from batch_service.api.responses import json_response
from batch_service.feed.reads import read_job
from batch_service.limits import MAX_BATCH_JOBS, MAX_BODY_BYTES, MAX_JOBS_PAGE, MAX_LIST_BYTES
from batch_service.models import (
    ErrorBody,
    JobBatch,
    JobBatchCreated,
    JobCreated,
    JobList,
    JobPublic,
    JobRecord,
    JobSpec,
    JobState,
    job_document,
    job_summary_document,
)
from batch_service.scenario_calls import count_and_fault, observe_job, require_test_mode
from batch_service.store import jobs as job_store
from batch_service.tokens import InvalidPageToken, decode_page_token, encode_page_token

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
SUBMIT_ERRORS = {
    409: {"model": ErrorBody, "description": "The Idempotency-Key was used with a different spec"},
    400: {"model": ErrorBody, "description": "The body is not parseable JSON"},
    413: {"model": ErrorBody, "description": f"Body over {MAX_BODY_BYTES // 1024} KiB"},
}

BAD_TOKEN = {400: {"model": ErrorBody, "description": "Bad page_token"}}
JOBS_TOKEN = "jobs"
# key:value, as labels are stored: no NUL (PostgreSQL text cannot hold it), no ':' in the key.
LabelFilter = Annotated[str, StringConstraints(pattern=r"^[^:\x00]{1,63}:[^\x00]{0,255}$")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e][\x20-\x7e]*$",
        description="Makes retries safe: the same key and spec return the first job (200).",
    ),
]


@contextmanager
def key_conflict_is_409() -> Iterator[None]:
    """An Idempotency-Key reused with another body: the client's mistake, a 409 saying so."""
    try:
        yield
    except job_store.IdempotencyConflict as conflict:
        raise HTTPException(status.HTTP_409_CONFLICT, str(conflict)) from conflict


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=JobCreated,
    responses={
        200: {"model": JobCreated, "description": "Idempotent replay: the job first submitted with this key"},
        **SUBMIT_ERRORS,
    },
)
async def submit_job(
    spec: JobSpec,
    caller: CallerDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    owner, services = caller.owner, caller.services
    require_test_mode(spec, services)
    with key_conflict_is_409():
        submission = await services.submissions.submit(
            owner=owner, spec=spec, idempotency_key=idempotency_key, now=services.clock.now()
        )
    token = services.logs_tokens.token_for(submission.job["id"])
    code = status.HTTP_201_CREATED if submission.created else status.HTTP_200_OK
    return json_response(job_document(submission.job, logs_token=token), code)


@router.post(
    ":batch",
    status_code=status.HTTP_201_CREATED,
    response_model=JobBatchCreated,
    responses={
        200: {"model": JobBatchCreated, "description": "Idempotent replay: the first jobs with this key"},
        **SUBMIT_ERRORS,
    },
    description=f"Submit 1 to {MAX_BATCH_JOBS:,} jobs in one transaction, all or none; the answer lists "
    "them in the order of their specs. A bad spec is a 422 naming its index (`body.jobs.<i>`), and "
    "nothing is created. Counts as one request per job against the rate limit.",
)
async def submit_jobs(
    batch: JobBatch,
    caller: CallerDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    owner, services = caller.owner, caller.services
    for index, spec in enumerate(batch.jobs):
        require_test_mode(spec, services, ("body", "jobs", index))
    services.limiter.charge(owner_bucket(owner), len(batch.jobs) - 1)  # the request itself paid one
    with key_conflict_is_409():
        submission = await services.submissions.submit_many(
            owner=owner, specs=batch.jobs, idempotency_key=idempotency_key, now=services.clock.now()
        )
    tokens = services.logs_tokens
    documents = [job_document(job, logs_token=tokens.token_for(job["id"])) for job in submission.jobs]
    code = status.HTTP_201_CREATED if submission.created else status.HTTP_200_OK
    return json_response({"jobs": documents}, code)


@router.get(
    "",
    response_model=JobList,
    responses=BAD_TOKEN,
    description=f"Job summaries, newest first. A page holds at most `limit` jobs and at most "
    f"{MAX_LIST_BYTES // 1024} KiB, so it may hold fewer: follow `next_page_token` until it is "
    "null. Inputs, outputs and the spec are on `GET /v1/jobs/{id}`.",
)
async def list_jobs(
    caller: CallerDep,
    state: JobState | None = None,
    label: Annotated[list[LabelFilter], Query(description="key:value; repeat to require several")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=MAX_JOBS_PAGE)] = 50,
    page_token: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    owner, services = caller.owner, caller.services
    try:
        before_pk = decode_page_token(JOBS_TOKEN, page_token) if page_token else None
    except InvalidPageToken as error:
        raise bad_request(str(error)) from error
    labels = [tuple(item.split(":", 1)) for item in label]
    rows = await services.db.read(
        job_store.list_jobs,
        owner=owner,
        state=state,
        labels=labels,
        before_pk=before_pk,
        limit=limit + 1,
    )
    return Response(content=_job_page(rows, limit), media_type="application/json")


def _job_page(rows: list[JobRecord], limit: int) -> bytes:
    """A `JobList` of up to `limit` of `rows`, stopping before the body passes MAX_LIST_BYTES
    (one summary is far smaller, so a page always holds at least one)."""
    summaries: list[bytes] = []
    size = 0
    for row in rows[:limit]:
        summary = to_json(job_summary_document(row))
        if summaries and size + len(summary) > MAX_LIST_BYTES:
            break
        summaries.append(summary)
        size += len(summary) + 1
    more = len(rows) > len(summaries)
    next_token = encode_page_token(JOBS_TOKEN, rows[len(summaries) - 1]["pk"]) if more else None
    return b'{"jobs":[' + b",".join(summaries) + b'],"next_page_token":' + to_json(next_token) + b"}"


@router.get("/{job_id}", response_model=JobPublic, responses=JOB_ABSENT)
async def get_job(job_id: str, caller: CallerDep) -> Response:
    owner, services = caller.owner, caller.services
    job = await read_job(services.db, owner=owner, job_id=job_id_or_404(job_id))
    if job is not None:
        job = await observe_job(services, owner, job)  # a poll, if the job's scenario counts them
    if job is None:
        raise job_not_found()
    return json_response(job_document(job))


@router.post("/{job_id}/cancel", response_model=JobPublic, responses=JOB_ABSENT)
async def cancel_job(job_id: str, caller: CallerDep) -> Response:
    owner, services = caller.owner, caller.services
    job = await services.db.read(job_store.get_job, owner=owner, job_id=job_id_or_404(job_id))
    if job is not None:
        await count_and_fault(services, job, "cancel")  # a cancel its scenario fails is not done
        job = await services.db.write(
            job_store.cancel_job, owner=owner, job_id=job_id, now=services.clock.now()
        )
    if job is None:
        raise job_not_found()
    return json_response(job_document(job))
