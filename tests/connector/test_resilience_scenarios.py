"""The connector in `c0`, put in each situation it must survive by the batch service's own
scenarios, chaos rules and clock (the kit's `batch` fixture): no luck, no sleeps."""

from __future__ import annotations

import itertools
from datetime import datetime

from flyteidl2.core.execution_pb2 import TaskExecution

from batch_testkit import BatchTestClient, by_polls, failing
from batch_testkit.drive import ConnectorDriver, demo_task, job_id_of
from batch_testkit.platform import task_inputs, task_template
from my_connector.task import BatchJobConfig

RUNNING, FAILED, ABORTED = TaskExecution.RUNNING, TaskExecution.FAILED, TaskExecution.ABORTED


async def create(platform: ConnectorDriver, **config: object) -> bytes:
    task = demo_task(BatchJobConfig(**{"timeout_seconds": 3600, "log_lines": 10, **config}))  # type: ignore[arg-type]
    return await platform.create(task_template(task), await task_inputs(task, name="resilient"))


def at(entry: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(entry["time"]))


async def test_a_job_that_fails_after_its_third_poll(
    kit_alice: ConnectorDriver, batch: BatchTestClient
) -> None:
    scenario = by_polls(0, 3, outcome="FAILED", message="out of memory on node 4")
    meta = await create(kit_alice, scenario=scenario)

    seen = [await kit_alice.get(meta) for _ in range(4)]

    assert [r.phase for r in seen] == [RUNNING, RUNNING, RUNNING, FAILED]
    assert seen[-1].message.endswith("failed: out of memory on node 4")
    gets = [e for e in batch.journal() if e["method"] == "GET" and e["job_id"] == job_id_of(meta)]
    assert [e["status"] for e in gets] == [200] * 4  # one service poll per GetTask


async def test_a_429_storm_is_ridden_out_waiting_the_retry_after_it_was_given(
    kit_alice: ConnectorDriver, batch: BatchTestClient
) -> None:
    batch.add_rule("POST", "/v1/jobs", owner="alice", status=429, retry_after_seconds=1, count=3)

    meta = await create(kit_alice, duration_seconds=0)

    posts = [e for e in batch.journal() if e["method"] == "POST" and e["route"] == "/v1/jobs"]
    assert [e["status"] for e in posts] == [429, 429, 429, 201]
    assert len({e["idempotency_key"] for e in posts}) == 1  # every retry is the same create
    gaps = [(at(later) - at(earlier)).total_seconds() for earlier, later in itertools.pairwise(posts)]
    assert all(gap >= 1.0 for gap in gaps), gaps  # each retry waited at least the Retry-After
    assert batch.job(job_id_of(meta))["state"] in {"QUEUED", "RUNNING", "SUCCEEDED"}


async def test_a_cancel_lands_while_the_job_is_queued(
    kit_alice: ConnectorDriver, batch: BatchTestClient
) -> None:
    meta = await create(kit_alice, scenario=by_polls(running_after=1000))
    assert (await kit_alice.get(meta)).phase == TaskExecution.QUEUED

    await kit_alice.delete(meta)

    resource = await kit_alice.get(meta)
    assert (resource.phase, resource.message) == (ABORTED, f"job {job_id_of(meta)} cancelled")
    job = batch.job(job_id_of(meta))
    assert (job["state"], job["started_at"]) == ("CANCELLED", None)  # it never ran


async def test_a_timeout_reached_through_the_clock(
    kit_alice: ConnectorDriver, batch: BatchTestClient
) -> None:
    meta = await create(kit_alice, duration_seconds=7200, timeout_seconds=3600)
    batch.advance_clock(1)  # the scheduler starts it
    assert (await kit_alice.get(meta)).phase == RUNNING

    batch.advance_clock(3600)

    resource = await kit_alice.get(meta)
    assert resource.phase == FAILED
    assert resource.message.endswith("timed out after 3600 s")


async def test_log_page_two_fails_once_and_every_line_still_comes_once_in_order(
    kit_alice: ConnectorDriver, batch: BatchTestClient
) -> None:
    scenario = by_polls(0, 1, faults={"logs": failing(from_call=2, status=500)})
    meta = await create(kit_alice, scenario=scenario)
    assert [(await kit_alice.get(meta)).phase for _ in range(2)] == [RUNNING, TaskExecution.SUCCEEDED]

    logs = await kit_alice.read_logs(meta)

    assert [line.message for line in logs.lines] == [
        f"[INFO] drive_batch_job: step {n} of 10 done" for n in range(1, 11)
    ]
    reads = [e for e in batch.journal() if e["route"] == "/v1/jobs/{job_id}/logs"]
    assert [e["status"] for e in reads] == [200, 500, 200, 200]  # page 2 failed once, was asked again
    assert reads[1]["fault"] == "scenario faults.logs, call 2"
    assert logs.pages == 3
