"""Every row of the state → phase table, walked over a real `c0` against a real service.

For each job state the connector knows (`STATE_PHASES`), a job is put in that state the way
a user would get there, GetTask must answer the row's phase and message, and DeleteTask
after it, sent twice, must be harmless: a finished job stays as it was, a live one ends
ABORTED. my_connector/README.md shows the same table.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from flyteidl2.core.execution_pb2 import TaskExecution

from batch_testkit.drive import ConnectorDriver, demo_task, job_id_of
from batch_testkit.keys import ALICE
from batch_testkit.platform import execution_metadata, task_inputs, task_template
from batch_testkit.servers import BatchService, run_batch_service
from my_connector.api import BatchJob
from my_connector.phases import STATE_PHASES, TERMINAL_PHASES, TRANSIENT_FAILURE, state_key
from tests.connector.conftest import quick_job, submit

LONG = {"duration_seconds": 300, "log_lines": 0}  # no lines: a running job's message stays the same


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BatchService]:
    """One job at a time, so a second one waits QUEUED for as long as the first runs; test mode
    for the scenario that ends a job with a transient failure."""
    with run_batch_service(
        tmp_path_factory.mktemp("phases"), test_mode=True, env={"BATCH_MAX_RUNNING": "1"}
    ) as service:
        yield service


async def until(driver: ConnectorDriver, meta: bytes, phases: set[int]) -> None:
    for _ in range(300):
        if (await driver.get(meta)).phase in phases:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id_of(meta)} never reached {phases}")


Made = tuple[bytes, list[bytes]]  # the task in the state, and tasks to clean up afterwards


async def queued(alice: ConnectorDriver) -> Made:
    blocker = await submit(alice, "blocker", **LONG)
    await until(alice, blocker, {TaskExecution.RUNNING})
    return await submit(alice, "queued", **LONG), [blocker]


async def running(alice: ConnectorDriver) -> Made:
    meta = await submit(alice, "running", **LONG)
    await until(alice, meta, {TaskExecution.RUNNING})
    return meta, []


async def finished(alice: ConnectorDriver, **config: object) -> Made:
    meta = await submit(alice, "finished", **config)
    await until(alice, meta, TERMINAL_PHASES)
    return meta, []


async def lost_machine(alice: ConnectorDriver) -> Made:
    """A transient failure, created as the platform creates tasks: naming the attempt."""
    task = demo_task(quick_job(duration_seconds=0.2, scenario={"outcome": "TRANSIENT_FAILURE"}))
    template = task_template(task)
    execution = execution_metadata(template, "run-lost-machine")
    meta = await alice.create(template, await task_inputs(task, name="lost"), execution=execution)
    await until(alice, meta, TERMINAL_PHASES)
    return meta, []


async def cancelled(alice: ConnectorDriver) -> Made:
    meta, _ = await running(alice)
    await alice.delete(meta)
    return meta, []


MAKE: dict[str, Callable[[ConnectorDriver], Awaitable[Made]]] = {
    "QUEUED": queued,
    "RUNNING": running,
    "SUCCEEDED": lambda alice: finished(alice, duration_seconds=0.2),
    "FAILED": lambda alice: finished(alice, duration_seconds=0.2, fail_message="disk full on node 7"),
    TRANSIENT_FAILURE: lost_machine,
    "TIMED_OUT": lambda alice: finished(alice, duration_seconds=30, timeout_seconds=1),
    "CANCELLED": cancelled,
}


def the_job(service: BatchService, meta: bytes) -> BatchJob:
    response = httpx.get(f"{service.url}/v1/jobs/{job_id_of(meta)}", headers=ALICE)
    response.raise_for_status()
    return BatchJob.model_validate(response.json())


def test_every_row_of_the_table_is_walked_here() -> None:
    assert set(MAKE) == set(STATE_PHASES)


@pytest.mark.parametrize("state", sorted(STATE_PHASES))
async def test_each_state_reaches_the_platform_as_its_phase_and_a_delete_after_it_is_harmless(
    state: str, alice: ConnectorDriver, live_service: BatchService
) -> None:
    meta, cleanup = await MAKE[state](alice)
    job = the_job(live_service, meta)
    rule = STATE_PHASES[state]

    resource = await alice.get(meta)
    await alice.delete(meta)
    await alice.delete(meta)
    after_delete = await alice.get(meta)
    for other in cleanup:
        await alice.delete(other)

    assert state_key(job) == state
    assert (resource.phase, resource.message) == (rule.phase, rule.message(job))
    assert (resource.custom_info["job_id"], resource.custom_info["state"]) == (job.id, job.state)
    finished_before = rule.phase in TERMINAL_PHASES
    assert after_delete.phase == (rule.phase if finished_before else TaskExecution.ABORTED)
    assert the_job(live_service, meta).state == (job.state if finished_before else "CANCELLED")


async def test_a_job_that_is_not_there_fails_the_task_and_deleting_it_is_harmless(
    alice: ConnectorDriver,
) -> None:
    meta = json.dumps({"job_id": "job-never-made", "logs_token": "x", "output_names": []}).encode()

    resource = await alice.get(meta)
    await alice.delete(meta)

    assert resource.phase == TaskExecution.FAILED
    assert resource.message.startswith("job job-never-made not found")
