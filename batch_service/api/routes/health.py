"""Liveness, readiness and metrics: unauthenticated, for orchestrators and Prometheus."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response, status
from sqlalchemy import text
from sqlalchemy.orm import Session

from batch_service.api.deps import ServicesDep
from batch_service.metrics import CONTENT_TYPE
from batch_service.store import jobs as job_store

router = APIRouter(tags=["health"])

READY_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _ping(*, session: Session) -> None:
    session.execute(text("SELECT 1"))


@router.get("/readyz", responses={503: {"description": "The database does not answer"}})
async def readyz(services: ServicesDep, response: Response) -> dict[str, str]:
    try:
        await asyncio.wait_for(services.db.read(_ping), READY_TIMEOUT_SECONDS)
    except Exception:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = "1"
        return {"status": "database unavailable"}
    return {"status": "ready"}


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
async def metrics(services: ServicesDep) -> Response:
    counts = await services.db.read(job_store.count_jobs_by_state)
    return Response(services.metrics.render(counts), media_type=CONTENT_TYPE)
