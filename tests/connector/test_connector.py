"""The connector against an in-memory batch API: spec, keys, phases, outputs, logs, cancel."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from flyteidl2.core.execution_pb2 import TaskExecution
from flyteidl2.core.tasks_pb2 import TaskTemplate
from flyteidl2.logs.dataplane.payload_pb2 import LogLineOriginator

from batch_testkit.drive import demo_task
from batch_testkit.platform import execution_metadata, task_template
from my_connector.connector import BatchJobConnector, BatchJobMetadata, MissingApiKey, idempotency_key
from tests.connector.conftest import ALICE_KEY, BOB_KEY, quick_job
from tests.connector.fake_api import FakeBatchApi, FakeJob


def template(**config: object) -> TaskTemplate:
    return task_template(demo_task(quick_job(**config)))


def meta_for(job: FakeJob, output_names: list[str] | None = None, **deadline: float) -> BatchJobMetadata:
    names = ["result"] if output_names is None else output_names
    return BatchJobMetadata(job_id=job.id, logs_token=job.logs_token, output_names=names, **deadline)  # type: ignore[arg-type]


async def test_create_submits_the_tasks_config_and_inputs_as_the_job_spec(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())
    tt = task_template(
        demo_task(
            quick_job(timeout_seconds=90, labels={"team": "data"}, fail_message="no"), api_key_secret="k"
        )
    )

    meta = await connector.create(tt, inputs={"name": "hello"}, api_key=ALICE_KEY)

    (request,) = fake_api.requests
    assert json.loads(request.content) == {
        "name": "drive_batch_job",
        "inputs": {"name": "hello"},
        "timeout_seconds": 90,
        "duration_seconds": 0.5,
        "log_lines": 10,
        "labels": {"team": "data"},
        "fail_message": "no",
    }
    job = fake_api.jobs[meta.job_id]
    assert (meta.logs_token, meta.output_names) == (job.logs_token, ["result"])


async def test_metadata_holds_ids_and_the_logs_token_never_a_key(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())

    meta = await connector.create(template(), inputs={"name": "x"}, api_key=ALICE_KEY)

    encoded = meta.encode()
    job = fake_api.jobs[meta.job_id]
    assert json.loads(encoded) == {
        "job_id": job.id,
        "logs_token": job.logs_token,
        "output_names": ["result"],
        "submitted_at": 1893456000.0,  # the service's created_at, 2030-01-01T00:00:00Z
        "timeout_seconds": 60,  # as the service accepted it
        "caller_retries": False,  # no task execution id: a local run
    }
    assert ALICE_KEY.encode() not in encoded
    assert BatchJobMetadata.decode(encoded) == meta


def test_metadata_written_before_the_deadline_fields_still_decodes() -> None:
    meta = BatchJobMetadata.decode(b'{"job_id": "job-1", "logs_token": "t", "output_names": []}')

    assert (meta.submitted_at, meta.timeout_seconds, meta.caller_retries) == (None, None, False)


async def test_the_per_task_key_wins_over_the_connectors_own(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client(api_key=ALICE_KEY))

    meta = await connector.create(template(), inputs={"name": "x"}, api_key=BOB_KEY)
    await connector.create(template(), inputs={"name": "x"})

    assert fake_api.jobs[meta.job_id].owner == "bob"
    assert [job.owner for job in fake_api.jobs.values()] == ["bob", "alice"]


async def test_without_any_key_the_error_says_where_one_comes_from(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())

    with pytest.raises(MissingApiKey, match=r"401 Unauthorized.*BatchJobTask\(api_key=.*BATCH_API_KEY"):
        await connector.create(template(), inputs={"name": "x"})


async def test_a_retried_create_for_one_attempt_makes_one_job(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())
    tt = template()
    attempt0 = execution_metadata(tt, "run-1", attempt=0)

    first = await connector.create(
        tt, inputs={"name": "x"}, task_execution_metadata=attempt0, api_key=ALICE_KEY
    )
    again = await connector.create(
        tt, inputs={"name": "x"}, task_execution_metadata=attempt0, api_key=ALICE_KEY
    )
    retry = await connector.create(
        tt,
        inputs={"name": "x"},
        task_execution_metadata=execution_metadata(tt, "run-1", 1),
        api_key=ALICE_KEY,
    )

    assert again == first
    assert retry.job_id != first.job_id
    assert len(fake_api.jobs) == 2


def test_idempotency_keys_follow_run_node_task_and_attempt() -> None:
    tt = template()
    key = idempotency_key(execution_metadata(tt, "run-1", 0))

    assert key == idempotency_key(execution_metadata(tt, "run-1", 0))
    assert key.startswith("flyte-") and len(key) <= 255
    assert key != idempotency_key(execution_metadata(tt, "run-1", 1))
    assert key != idempotency_key(execution_metadata(tt, "run-2", 0))


async def test_without_execution_metadata_each_create_gets_its_own_key_kept_across_retries(
    fake_api: FakeBatchApi,
) -> None:
    connector = BatchJobConnector(fake_api.client())
    fake_api.fail_next(httpx.Response(503, json={"detail": "fault"}, headers={"Retry-After": "0"}))

    await connector.create(template(), inputs={"name": "x"}, api_key=ALICE_KEY)
    await connector.create(template(), inputs={"name": "x"}, api_key=ALICE_KEY)

    keys = [request.headers["Idempotency-Key"] for request in fake_api.requests]
    assert len(keys) == 3
    assert keys[0] == keys[1] != keys[2]
    assert len(fake_api.jobs) == 2


@pytest.mark.parametrize(
    ("state", "fields", "phase", "message"),
    [
        ("QUEUED", {}, TaskExecution.QUEUED, "queued"),
        ("RUNNING", {}, TaskExecution.RUNNING, "running"),
        ("FAILED", {"error": "disk full"}, TaskExecution.FAILED, "failed: disk full"),
        (
            "TIMED_OUT",
            {"spec": {"name": "n", "timeout_seconds": 7}},
            TaskExecution.FAILED,
            "timed out after 7 s",
        ),
        ("CANCELLED", {}, TaskExecution.ABORTED, "cancelled"),
    ],
)
async def test_job_states_map_onto_task_phases(
    fake_api: FakeBatchApi, state: str, fields: dict[str, object], phase: TaskExecution.Phase, message: str
) -> None:
    connector = BatchJobConnector(fake_api.client())
    job = fake_api.add_job(state=state, **fields)

    resource = await connector.get(meta_for(job), api_key=ALICE_KEY)

    assert resource.phase == phase
    assert message in (resource.message or "")
    assert resource.outputs is None


async def test_a_succeeded_job_returns_the_declared_outputs_by_name(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())
    job = fake_api.add_job(state="SUCCEEDED", outputs={"result": "done", "extra": 1, "count": 3})

    resource = await connector.get(meta_for(job, ["count", "result"]), api_key=ALICE_KEY)

    assert resource.phase == TaskExecution.SUCCEEDED
    assert resource.outputs == {"count": 3, "result": "done"}


async def test_a_missing_declared_output_fails_the_task_naming_it(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())
    job = fake_api.add_job(state="SUCCEEDED", outputs={"result": "done"})

    resource = await connector.get(meta_for(job, ["result", "score"]), api_key=ALICE_KEY)

    assert resource.phase == TaskExecution.FAILED
    assert "declared output(s) score" in (resource.message or "")
    assert "it returned: result" in (resource.message or "")


async def test_a_task_without_outputs_succeeds_with_none(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())
    job = fake_api.add_job(state="SUCCEEDED", outputs={"result": "done"})

    resource = await connector.get(meta_for(job, []), api_key=ALICE_KEY)

    assert resource.phase == TaskExecution.SUCCEEDED
    assert resource.outputs is None


async def test_every_resource_carries_the_jobs_id_state_times_and_line_count(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())
    job = fake_api.add_job(state="RUNNING")
    fake_api.write_lines(job, 3)

    resource = await connector.get(meta_for(job), api_key=ALICE_KEY)

    assert resource.custom_info == {
        "job_id": job.id,
        "state": "RUNNING",
        "created_at": "2030-01-01T00:00:00Z",
        "started_at": None,
        "finished_at": None,
        "log_line_count": 3,
    }


async def test_log_links_point_at_the_jobs_logs(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())
    job = fake_api.add_job(state="RUNNING")

    resource = await connector.get(meta_for(job), api_key=ALICE_KEY)

    (link,) = resource.log_links or []
    assert link.uri == f"http://batch.test/v1/jobs/{job.id}/logs"
    assert link.name == "Batch job logs"


async def test_with_a_public_url_the_log_link_opens_the_jobs_dashboard_page(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client(public_url="https://batch.example.com/"))
    job = fake_api.add_job(state="RUNNING")

    resource = await connector.get(meta_for(job), api_key=ALICE_KEY)

    (link,) = resource.log_links or []
    assert link.uri == f"https://batch.example.com/ui/jobs/{job.id}#logs_token={job.logs_token}"


async def test_an_outage_reports_running_the_same_whatever_this_process_saw(fake_api: FakeBatchApi) -> None:
    """No per-process memory decides a phase: a replica that saw the job QUEUED and a fresh one agree."""
    seen_before, fresh = BatchJobConnector(fake_api.client()), BatchJobConnector(fake_api.client())
    queued = fake_api.add_job(state="QUEUED")
    meta = meta_for(queued, submitted_at=time.time(), timeout_seconds=60)
    assert (await seen_before.get(meta, api_key=ALICE_KEY)).phase == TaskExecution.QUEUED
    fake_api.fail_always(httpx.ConnectError("connection refused"))

    answers = [await connector.get(meta, api_key=ALICE_KEY) for connector in (seen_before, fresh)]

    assert [r.phase for r in answers] == [TaskExecution.RUNNING, TaskExecution.RUNNING]
    assert all("batch service not answering" in (r.message or "") for r in answers)
    assert all(r.custom_info == {"job_id": queued.id, "state": None} for r in answers)


async def test_an_unanswered_job_past_its_deadline_fails_saying_since_when(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client(outage_grace_seconds=30))
    running = fake_api.add_job(state="RUNNING")
    meta = meta_for(running, submitted_at=time.time() - 100, timeout_seconds=60)  # deadline 10 s ago
    await connector.get(meta, api_key=ALICE_KEY)
    fake_api.fail_always(httpx.ConnectError("connection refused"))

    resource = await connector.get(meta, api_key=ALICE_KEY)

    assert resource.phase == TaskExecution.FAILED
    message = resource.message or ""
    assert f"batch service has not answered about job {running.id} since " in message
    assert "(its last answer to this connector); giving up: the job should have ended by " in message
    assert "(submitted " in message and "60 s timeout + 30 s grace" in message
    assert "ConnectError: connection refused" in message


async def test_metadata_without_a_deadline_rides_out_any_outage(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())
    fake_api.fail_always(httpx.ConnectError("connection refused"))

    resource = await connector.get(BatchJobMetadata(job_id="job-old", logs_token="t"), api_key=ALICE_KEY)

    assert resource.phase == TaskExecution.RUNNING


async def test_another_owners_job_is_not_found_and_fails(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())
    job = fake_api.add_job(owner="bob", state="RUNNING")

    resource = await connector.get(meta_for(job), api_key=ALICE_KEY)

    assert resource.phase == TaskExecution.FAILED
    assert "not found" in (resource.message or "")


async def test_delete_cancels_and_is_idempotent(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())
    running, finished = fake_api.add_job(state="RUNNING"), fake_api.add_job(state="SUCCEEDED")

    await connector.delete(meta_for(running), api_key=ALICE_KEY)
    await connector.delete(meta_for(running), api_key=ALICE_KEY)
    await connector.delete(meta_for(finished), api_key=ALICE_KEY)
    await connector.delete(BatchJobMetadata(job_id="job-unknown", logs_token="t"), api_key=ALICE_KEY)

    assert (running.state, finished.state) == ("CANCELLED", "SUCCEEDED")
    assert [r.url.path for r in fake_api.requests] == [
        f"/v1/jobs/{running.id}/cancel",
        f"/v1/jobs/{running.id}/cancel",
        f"/v1/jobs/{finished.id}/cancel",
        "/v1/jobs/job-unknown/cancel",
    ]


async def test_get_logs_yields_a_page_of_lines_then_the_next_token(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client(log_page_size=3))
    job = fake_api.add_job(state="RUNNING")
    fake_api.write_lines(job, 2)
    fake_api.write_lines(job, 2, level="ERROR")

    first = [response async for response in connector.get_logs(meta_for(job))]
    second = [response async for response in connector.get_logs(meta_for(job), token=first[1].header.token)]

    assert [r.WhichOneof("part") for r in first] == ["body", "header"]
    assert [line.message for line in first[0].body.lines] == [
        "[INFO] line 0",
        "[INFO] line 1",
        "[ERROR] line 2",
    ]
    assert first[0].body.lines[2].timestamp.ToJsonString() == "2030-01-01T00:00:02Z"
    assert {line.originator for line in first[0].body.lines} == {LogLineOriginator.USER}
    assert [line.message for line in second[0].body.lines] == ["[ERROR] line 3"]
    assert second[1].header.token  # still running: more may come


async def test_get_logs_stops_once_a_finished_job_is_drained(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client())
    job = fake_api.add_job(state="SUCCEEDED")
    fake_api.write_lines(job, 2)

    responses = [response async for response in connector.get_logs(meta_for(job))]

    assert [r.WhichOneof("part") for r in responses] == ["body"]


async def test_get_logs_reads_with_the_logs_token_not_a_key(fake_api: FakeBatchApi) -> None:
    connector = BatchJobConnector(fake_api.client(api_key=ALICE_KEY))
    job = fake_api.add_job(state="SUCCEEDED")

    [response async for response in connector.get_logs(meta_for(job))]

    assert fake_api.requests[0].headers["Authorization"] == f"Bearer {job.logs_token}"
