"""The connector in `c0`, driven over gRPC as the Flyte platform drives it, against a real service.

`c0` runs with `--modules my_connector`, no key of its own and 4-line log pages; each test
plays the platform for one owner (`alice`, `bob`) through `ConnectorDriver`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import grpc
import pytest
from flyteidl2.core.execution_pb2 import TaskExecution

from batch_testkit.drive import ConnectorDriver, demo_task, job_id_of
from batch_testkit.platform import execution_metadata, native_outputs, task_inputs, task_template
from batch_testkit.servers import BatchService, ConnectorServer
from tests.connector.conftest import ALICE_KEY, BOB_KEY, quick_job, requests_served, submit

SUCCEEDED, FAILED, ABORTED = TaskExecution.SUCCEEDED, TaskExecution.FAILED, TaskExecution.ABORTED


async def test_a_task_runs_end_to_end_over_grpc(alice: ConnectorDriver, live_service: BatchService) -> None:
    task = demo_task(quick_job())
    meta = await alice.create(task_template(task), await task_inputs(task, name="hello"))
    phases: list[int] = []

    resource = await alice.wait(meta, poll_interval=0.1, on_phase=lambda r: phases.append(r.phase))

    job_id = job_id_of(meta)
    assert resource.phase == SUCCEEDED, resource.message
    assert set(phases) <= {TaskExecution.QUEUED, TaskExecution.RUNNING, SUCCEEDED}
    assert [literal.name for literal in resource.outputs.literals] == ["result"]
    assert await native_outputs(task, resource.outputs) == {"result": f"output-from-{job_id}"}
    assert [link.uri for link in resource.log_links] == [f"{live_service.url}/v1/jobs/{job_id}/logs"]

    logs = await alice.read_logs(meta)
    assert logs.pages == 3  # 10 lines, 4 a page
    assert len(logs.lines) == 10
    assert all(line.message.startswith("[INFO] ") for line in logs.lines)
    assert [line.timestamp.ToDatetime() for line in logs.lines] == sorted(
        line.timestamp.ToDatetime() for line in logs.lines
    )

    await alice.delete(meta)  # deleting a finished task changes nothing
    assert (await alice.get(meta)).phase == SUCCEEDED


async def test_logs_read_while_the_job_runs_arrive_complete_and_in_order(alice: ConnectorDriver) -> None:
    meta = await submit(alice, duration_seconds=2, log_lines=10)

    logs = await alice.read_logs(meta, pause=0.1)

    assert len(logs.lines) == 10
    assert len({line.message for line in logs.lines}) == 10
    assert (await alice.get(meta)).phase == SUCCEEDED


async def test_a_failed_job_fails_the_task_with_its_error(alice: ConnectorDriver) -> None:
    meta = await submit(alice, fail_message="out of disk on node 7")

    resource = await alice.wait(meta, poll_interval=0.1)

    assert resource.phase == FAILED
    assert resource.message.endswith("failed: out of disk on node 7")


async def test_a_timed_out_job_fails_the_task_saying_so(alice: ConnectorDriver) -> None:
    meta = await submit(alice, timeout_seconds=1, duration_seconds=30)

    resource = await alice.wait(meta, poll_interval=0.1)

    assert resource.phase == FAILED
    assert resource.message.endswith("timed out after 1 s")


async def test_a_missing_declared_output_fails_the_task_naming_it(alice: ConnectorDriver) -> None:
    task = demo_task(quick_job(), outputs={"score": float})
    meta = await alice.create(task_template(task), await task_inputs(task, name="x"))

    resource = await alice.wait(meta, poll_interval=0.1)

    assert resource.phase == FAILED
    assert "declared output(s) score" in resource.message


async def test_delete_cancels_a_running_task_and_is_idempotent(alice: ConnectorDriver) -> None:
    meta = await submit(alice, duration_seconds=60)
    phase = (await alice.get(meta)).phase
    assert phase in {TaskExecution.QUEUED, TaskExecution.RUNNING}

    await alice.delete(meta)
    await alice.delete(meta)

    resource = await alice.get(meta)
    assert resource.phase == ABORTED
    assert resource.message.endswith("cancelled")


async def test_deleting_an_unknown_job_succeeds(alice: ConnectorDriver, live_service: BatchService) -> None:
    cancels = {"method": "POST", "route": "/v1/jobs/{job_id}/cancel", "status": "404"}
    before = requests_served(live_service, **cancels)

    await alice.delete(
        json.dumps({"job_id": "job-never-made", "logs_token": "x", "output_names": []}).encode()
    )

    assert requests_served(live_service, **cancels) == before + 1  # asked, told "not found", fine


async def test_create_sent_twice_for_one_attempt_makes_one_job(alice: ConnectorDriver) -> None:
    task = demo_task(quick_job())
    template, inputs = task_template(task), await task_inputs(task, name="replayed")
    attempt0 = execution_metadata(template, "run-replayed", attempt=0)

    first = await alice.create(template, inputs, execution=attempt0)
    replay = await alice.create(template, inputs, execution=attempt0)
    retry = await alice.create(template, inputs, execution=execution_metadata(template, "run-replayed", 1))

    assert replay == first  # same job id and the same logs token
    assert job_id_of(retry) != job_id_of(first)


async def test_owners_cannot_see_each_others_jobs(alice: ConnectorDriver, bob: ConnectorDriver) -> None:
    meta = await submit(alice, duration_seconds=1.5)

    seen_by_bob = await bob.get(meta)
    await bob.delete(meta)  # a 404 for bob: success for him, and no effect on alice's job

    assert seen_by_bob.phase == FAILED
    assert "not found" in seen_by_bob.message
    assert not seen_by_bob.outputs.literals
    assert (await alice.wait(meta, poll_interval=0.1)).phase == SUCCEEDED


async def test_a_refused_spec_is_not_retried_and_the_error_names_status_and_field(
    alice: ConnectorDriver, live_service: BatchService
) -> None:
    before = requests_served(live_service, method="POST", route="/v1/jobs")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await submit(alice, timeout_seconds=0)

    assert requests_served(live_service, method="POST", route="/v1/jobs") == before + 1
    assert raised.value.code() == grpc.StatusCode.INTERNAL
    details = raised.value.details() or ""
    assert "refused POST /v1/jobs: 422 Unprocessable" in details
    assert "body.timeout_seconds: Input should be greater than or equal to 1" in details


async def test_keys_never_reach_logs_metadata_or_errors(
    channel: grpc.aio.Channel, alice: ConnectorDriver, bob: ConnectorDriver, live_connector: ConnectorServer
) -> None:
    wrong_key = "not-a-key-but-still-secret"
    metas = [await submit(alice), await submit(bob)]
    for meta in metas:
        await alice.wait(meta, poll_interval=0.1)
        await alice.read_logs(meta)
        await bob.delete(meta)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await submit(ConnectorDriver(channel, api_key=wrong_key))

    details = raised.value.details() or ""
    assert "401 Unauthorized" in details
    secrets = (ALICE_KEY, BOB_KEY, wrong_key)
    assert not [key for key in secrets if key in details]
    assert not [key for key in secrets for meta in metas if key.encode() in meta]
    log = live_connector.server.log()
    assert "batch job" in log  # the connector does log; just never a key
    assert not [key for key in secrets if key in log]


def drive(connector: ConnectorServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALICE_BATCH_KEY": ALICE_KEY}
    command = [sys.executable, "-m", "batch_testkit.drive", "--connector", connector.address, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_the_drive_command_runs_a_task_through_a_connector(live_connector: ConnectorServer) -> None:
    done = drive(
        live_connector, "--name", "cli", "--api-key-env", "ALICE_BATCH_KEY", "--duration", "0.5",
        "--log-lines", "6", "--poll-interval", "0.2",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    out = done.stdout
    job_id = out.splitlines()[0].removeprefix("created job ")
    assert "phase SUCCEEDED" in out
    assert "logs (6 lines in 2 GetTaskLogs pages):" in out
    assert out.strip().splitlines()[-1] == f'outputs: {{"result": "output-from-{job_id}"}}'


def test_the_drive_command_cancels_with_delete_task(live_connector: ConnectorServer) -> None:
    done = drive(
        live_connector, "--name", "cli", "--api-key-env", "ALICE_BATCH_KEY", "--duration", "60",
        "--poll-interval", "0.2", "--cancel-after", "0.5",
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    assert "cancelling: DeleteTask" in done.stdout
    assert "phase ABORTED" in done.stdout
