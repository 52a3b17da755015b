"""Where the API's handlers meet a job's scenario: counting polls and failing the job's calls.

A job without a scenario costs nothing here beyond a dictionary lookup on the row already
read; only a job whose scenario counts a kind of call pays for counting it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import HTTPException, status

from batch_service.api.services import Services
from batch_service.faults import InjectedFault
from batch_service.models import JobRecord, JobSpec
from batch_service.scenario import CallFault, Scenario
from batch_service.scenario_store import CountedCall, Lease, count_call, poll_job

CallKind = Literal["logs", "cancel"]
COUNTERS: dict[CallKind, CountedCall] = {"logs": "log_calls", "cancel": "cancel_calls"}
TEST_MODE_REQUIRED = (
    "scenarios are for tests: this service accepts one only in test mode (BATCH_TEST_MODE=true)"
)


def require_test_mode(spec: JobSpec, services: Services, where: tuple[str | int, ...] = ("body",)) -> None:
    """A scenario makes a job misbehave on purpose; only a service in test mode takes one.
    `where` is the spec's place in the body (`("body", "jobs", 3)` in a batch)."""
    if spec.scenario is not None and not services.settings.test_mode:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": [*where, "scenario"], "msg": TEST_MODE_REQUIRED, "type": "test_mode_required"}],
        )


def stored_scenario(job: JobRecord) -> Scenario | None:
    raw: Any = job["spec"].get("scenario")
    return None if raw is None else Scenario.model_validate(raw, strict=False)


def lease(services: Services) -> Lease:
    return Lease(
        replica=services.scheduler.replica,
        now=services.clock.now(),
        lease_seconds=services.settings.lease_seconds,
    )


async def observe_job(services: Services, owner: str, job: JobRecord) -> JobRecord | None:
    """A GET of `job`: counts it when the scenario moves by polls or fails GETs, applies what
    the count makes due, and raises or waits out this GET's fault. None if the job went away."""
    scenario = stored_scenario(job)
    if scenario is None or not (scenario.starts_by_polls or (scenario.faults and scenario.faults.get)):
        return job
    poll = await services.db.write(poll_job, owner=owner, job_id=job["id"], lease=lease(services))
    if poll is None:
        return None
    if poll.fault is not None:
        await _apply(poll.fault, f"scenario faults.get, call {poll.job['get_calls']}")
    return poll.job


async def count_and_fault(services: Services, job: JobRecord, kind: CallKind) -> None:
    """A log read or a cancel of `job`: counted when its scenario faults that kind of call."""
    scenario = stored_scenario(job)
    fault = getattr(scenario.faults, kind) if scenario is not None and scenario.faults else None
    if fault is None:
        return
    number = await services.db.write(count_call, job_pk=job["pk"], counter=COUNTERS[kind])
    if fault.covers(number):
        await _apply(fault, f"scenario faults.{kind}, call {number}")


async def _apply(fault: CallFault, label: str) -> None:
    if fault.answers:
        raise InjectedFault(fault, label)  # the handler waits out the delay, then answers
    await asyncio.sleep(fault.delay_seconds)
