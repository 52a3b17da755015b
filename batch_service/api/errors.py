"""Error answers written once: JSON bodies in FastAPI's `{"detail": ...}` shape.

The default 422 handler echoes each bad value back, which breaks on values JSON cannot carry
(NaN) and sends a megabyte body straight back; `loc`, `msg` and `type` say what is wrong.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from batch_service.models import ErrorBody

JOB_NOT_FOUND = "job not found"
JOB_ABSENT: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such job (or another owner's)"}
}


def job_not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, JOB_NOT_FOUND)


def bad_request(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, detail)


async def validation_error_handler(_request: Request, error: Exception) -> JSONResponse:
    problems = error.errors() if isinstance(error, RequestValidationError) else []
    detail = [
        {"loc": list(problem["loc"]), "msg": problem["msg"], "type": problem["type"]} for problem in problems
    ]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def internal_error_handler(_request: Request, _error: Exception) -> JSONResponse:
    """A bug is still an answer a client can parse; the traceback goes to the service's log
    (Starlette re-raises after this handler), never into the body."""
    return JSONResponse(
        {"detail": "internal error: the service logged it; retrying will not help"},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def job_id_or_404(job_id: str) -> str:
    """A job id that could be stored. Ids are ours (`job-<hex>`); one holding NUL, which no
    text column of PostgreSQL can hold, names no job and must not reach the database."""
    if "\x00" in job_id:
        raise job_not_found()
    return job_id
