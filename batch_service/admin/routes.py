"""`/admin/v1`: chaos rules, the journal, state control, reset and the test clock.

Behind `BATCH_ADMIN_KEYS` (`Authorization: Bearer <admin key>`); with none configured the
whole prefix answers 404, as if it did not exist, and the clock exists only in test mode.
It is left out of `/openapi.json`, which describes the API clients build against;
`docs/testing.md#admin-api` describes this one.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from batch_service.admin.chaos import ChaosRuleSpec
from batch_service.admin.control import ForcedState, InvalidTransition, force_state, reset_jobs
from batch_service.admin.middleware import app_routes
from batch_service.api.deps import Credentials, get_services
from batch_service.api.errors import job_not_found
from batch_service.api.services import Services
from batch_service.models import job_document, rfc3339
from batch_service.scenario_calls import lease

PREFIX = "/admin/v1"
ADVANCE_SETTLE_SECONDS = 30.0  # longest an advance waits for the scheduler to catch up


async def require_admin(request: Request, credentials: Credentials) -> Services:
    services = await get_services(request)
    if not services.admin.keys.enabled:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    if not services.admin.keys.admits(credentials.credentials if credentials else None):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or invalid admin key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return services


AdminDep = Annotated[Services, Depends(require_admin)]
router = APIRouter(prefix=PREFIX, tags=["admin"], include_in_schema=False)


def _route_templates(request: Request) -> list[str]:
    paths = (getattr(route, "path", None) or "" for route in app_routes(request.app))
    return [path for path in paths if path and not path.startswith(PREFIX)]


@router.get("/rules")
async def list_rules(services: AdminDep) -> dict[str, Any]:
    return {"rules": [rule.document() for rule in services.admin.rules.list()]}


@router.post("/rules", status_code=status.HTTP_201_CREATED)
async def add_rule(spec: ChaosRuleSpec, request: Request, services: AdminDep) -> dict[str, Any]:
    templates = _route_templates(request)
    if not any(spec.matches_template(template) for template in templates):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["body", "route"],
                    "msg": f"matches none of the service's routes (the admin API is never faulted): "
                    f"{', '.join(sorted(set(templates)))}",
                    "type": "unknown_route",
                }
            ],
        )
    return services.admin.rules.add(spec).document()


@router.delete("/rules", status_code=status.HTTP_204_NO_CONTENT)
async def clear_rules(services: AdminDep) -> Response:
    services.admin.rules.clear()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_rule(rule_id: str, services: AdminDep) -> Response:
    if not services.admin.rules.remove(rule_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "rule not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/journal")
async def read_journal(
    services: AdminDep, limit: Annotated[int | None, Query(ge=1, le=100_000)] = None
) -> dict[str, Any]:
    """The last calls, oldest first (with `limit`, the newest `limit`)."""
    journal = services.admin.journal
    return {"calls": journal.entries(limit) if journal else []}


@router.delete("/journal", status_code=status.HTTP_204_NO_CONTENT)
async def clear_journal(services: AdminDep) -> Response:
    if services.admin.journal is not None:
        services.admin.journal.clear()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/jobs/{job_id}/state")
async def force_job_state(job_id: str, forced: ForcedState, services: AdminDep) -> dict[str, Any]:
    """Move any owner's job to `state` as the scheduler would; the job, with its owner."""
    try:
        job = await services.db.write(force_state, job_id=job_id, forced=forced, lease=lease(services))
    except InvalidTransition as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    if job is None:
        raise job_not_found()
    return {**job_document(job), "owner": job["owner"]}


@router.post("/reset", status_code=status.HTTP_204_NO_CONTENT)
async def reset(services: AdminDep) -> Response:
    """Every job, log line and rule gone, the journal emptied, the clock back to wall time."""
    await services.db.write(reset_jobs)
    await services.clock.reset(services.db)
    services.admin.rules.reset()
    if services.admin.journal is not None:
        services.admin.journal.clear()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class ClockAdvance(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    seconds: float = Field(gt=0, le=10 * 365 * 86_400, allow_inf_nan=False)


def _clock_document(services: Services) -> dict[str, Any]:
    return {"now": rfc3339(services.clock.now()), "offset_seconds": services.clock.offset}


async def require_test_mode(services: AdminDep) -> Services:
    if not services.admin.test_mode:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    return services


TestModeDep = Annotated[Services, Depends(require_test_mode)]


@router.get("/clock")
async def read_clock(services: TestModeDep) -> dict[str, Any]:
    return _clock_document(services)


@router.post("/clock/advance")
async def advance_clock(advance: ClockAdvance, services: TestModeDep) -> dict[str, Any]:
    """Move the service's time forward, as if it had passed: first the scheduler catches up
    with the present (a job that can start now starts now), then the clock moves, and the
    answer comes once this replica's scheduler has applied everything due by the new time."""
    try:
        async with asyncio.timeout(ADVANCE_SETTLE_SECONDS):
            await _scheduler_caught_up(services)
            await services.clock.advance(services.db, advance.seconds)
            await _scheduler_caught_up(services)
    except TimeoutError:
        pass  # the clock has moved; the scheduler is slow to follow, and later GETs will show it
    return _clock_document(services)


async def _scheduler_caught_up(services: Services) -> None:
    """Until a whole tick has run since now, and one wrote less than a tick's line budget."""
    ticks = services.admin.ticks
    await ticks.wait_for(ticks.finished + 2)  # the tick under way may have read the time before
    while ticks.last_lines_written >= services.scheduler.lines_per_tick:
        await ticks.wait_for(ticks.finished + 1)
