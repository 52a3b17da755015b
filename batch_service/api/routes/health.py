"""Liveness, readiness and metrics: unauthenticated, for orchestrators and Prometheus."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from batch_service.api.deps import ServicesDep
from batch_service.api.services import Services
from batch_service.api.unavailable import RETRY_AFTER_SECONDS
from batch_service.metrics import CONTENT_TYPE
from batch_service.storage_errors import StoreUnavailable, describe_storage_error
from batch_service.store import heartbeats
from batch_service.store import jobs as job_store

router = APIRouter(tags=["health"])

READY_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def readiness_problems(services: Services) -> list[str]:
    """Why this process cannot take work now; empty when it can.

    Ready means: the database is the one the process started on (on SQLite the same file,
    and in any database this process's heartbeat row), it takes a real write within
    READY_TIMEOUT_SECONDS, and the scheduler's ticks are succeeding.
    """
    db, scheduler = services.db, services.scheduler
    problems = []
    try:
        db.check_file()
        beat = db.write(heartbeats.beat, replica=scheduler.replica, now=time.time())
        if not await asyncio.wait_for(beat, READY_TIMEOUT_SECONDS):
            problems.append("the database is not the one this process started on (its heartbeat row is gone)")
    except StoreUnavailable as error:
        problems.append(str(error))
    except TimeoutError:
        problems.append(f"the database did not take a write within {READY_TIMEOUT_SECONDS:g} s")
    except Exception as error:
        problems.append(f"the database refused a write ({describe_storage_error(error)})")
    if scheduler.failing_since is not None:
        stalled = time.monotonic() - scheduler.failing_since
        problems.append(
            f"running jobs are paused: scheduler ticks failing for {stalled:.0f} s ({scheduler.last_failure})"
        )
    return problems


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready: `detail` says why; Retry-After"}},
)
async def readyz(services: ServicesDep) -> Response:
    problems = await readiness_problems(services)
    if not problems:
        return JSONResponse({"status": "ready"})
    return JSONResponse(
        {"status": "unavailable", "detail": "; ".join(problems)},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
async def metrics(services: ServicesDep) -> Response:
    counts = await services.db.read(job_store.count_jobs_by_state)
    return Response(services.metrics.render(counts), media_type=CONTENT_TYPE)
