"""A job that failed for a transient reason (its machine was lost): RETRYABLE_FAILED for the
platform, which names each attempt and retries one that fails so; FAILED for a caller that
names none, like the SDK's local loop, which ends only on SUCCEEDED, FAILED and ABORTED.

Flyte's connector plugin turns FAILED into a permanent failure and RETRYABLE_FAILED into a
retryable one (flyteorg/flyte, flyteplugins/go/tasks/plugins/webapi/connector/plugin.go)."""

from __future__ import annotations

from pathlib import Path

from flyteidl2.core.execution_pb2 import TaskExecution

from batch_testkit import BatchService, BatchTestClient, by_polls
from batch_testkit.drive import ConnectorDriver, demo_task, job_id_of
from batch_testkit.keys import ALICE_KEY
from batch_testkit.platform import InProcessPlatform, execution_metadata, task_inputs, task_template
from my_connector import BatchJobConfig, BatchJobConnector
from my_connector.client import BatchApiClient
from my_connector.settings import ConnectorSettings
from tests.connector.test_local_run import run_locally

LOST = by_polls(running_after=0, finished_after=1, outcome="TRANSIENT_FAILURE", message="spot VM preempted")
MESSAGE = "failed for a transient reason, a retry may succeed: spot VM preempted"


async def phases_of(
    platform: ConnectorDriver | InProcessPlatform, *, run_name: str | None
) -> list[tuple[int, str]]:
    task = demo_task(BatchJobConfig(scenario=LOST, log_lines=2))
    template = task_template(task)
    execution = execution_metadata(template, run_name) if run_name else None
    meta = await platform.create(template, await task_inputs(task, name="x"), execution=execution)
    seen = [await platform.get(meta) for _ in range(2)]
    await platform.delete(meta)  # harmless after the end
    assert (await platform.get(meta)).phase == seen[-1].phase
    return [(resource.phase, resource.message.removeprefix(f"job {job_id_of(meta)} ")) for resource in seen]


async def test_over_c0_the_platforms_attempt_is_retryable_failed(kit_alice: ConnectorDriver) -> None:
    phases = await phases_of(kit_alice, run_name="run-lost-machine")

    assert phases[0][0] == TaskExecution.RUNNING
    assert phases[1] == (TaskExecution.RETRYABLE_FAILED, MESSAGE)


async def test_over_c0_a_caller_naming_no_attempt_gets_failed(kit_alice: ConnectorDriver) -> None:
    phases = await phases_of(kit_alice, run_name=None)

    assert phases[1] == (TaskExecution.FAILED, MESSAGE)


async def test_in_process_the_mapping_is_the_same(batch: BatchTestClient) -> None:
    connector = BatchJobConnector(BatchApiClient(ConnectorSettings(api_url=batch.url)))
    platform = InProcessPlatform(connector, secrets={"api_key": ALICE_KEY})

    assert (await phases_of(platform, run_name="run-in-process"))[1][0] == TaskExecution.RETRYABLE_FAILED
    assert (await phases_of(platform, run_name=None))[1][0] == TaskExecution.FAILED


def test_a_local_flyte_run_ends_failed_rather_than_waiting_forever(
    batch_service_server: BatchService, batch: BatchTestClient, tmp_path: Path
) -> None:
    scenario = '{"outcome": "TRANSIENT_FAILURE", "message": "spot VM preempted"}'

    done = run_locally(  # a hang would end in subprocess.TimeoutExpired, failing the test
        ["-m", "tests.connector.local_run", "--scenario", scenario],
        tmp_path,
        batch_service_server,
        BATCH_API_KEY=ALICE_KEY,
    )

    assert done.returncode != 0
    assert MESSAGE in done.stdout
    assert "result:" not in done.stdout
    (listed,) = batch.http.get("/v1/jobs", headers=batch.as_owner("alice")).json()["jobs"]
    job = batch.job(listed["id"])
    assert (job["state"], job["retryable"]) == ("FAILED", True)
