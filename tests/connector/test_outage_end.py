"""An outage has an end: a short one is ridden out, a permanent one fails the task saying since when.

Both sides run with the same small window: a job with a 12 s timeout and 8 s of grace is given
up 20 s after its submission if the service still does not answer. A 10 s outage ends well
before that and the task succeeds; a service that never comes back fails the task, over
`c0` and in a local `flyte.run` (which used to print a warning every few seconds forever).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import grpc
import httpx
from flyteidl2.connector.connector_pb2 import Resource
from flyteidl2.core.execution_pb2 import TaskExecution

from batch_testkit.drive import ConnectorDriver
from batch_testkit.jobs import wait_for_state
from batch_testkit.keys import ALICE, ALICE_KEY
from batch_testkit.processes import base_env
from batch_testkit.servers import run_batch_service, run_connector_server
from tests.connector.conftest import submit

OUTAGE_SECONDS = 10
TIMEOUT_SECONDS, GRACE_SECONDS = 12, 8
WINDOW = {"BATCH_OUTAGE_GRACE_SECONDS": str(GRACE_SECONDS), "BATCH_CALL_BUDGET_SECONDS": "1"}
GIVE_UP_WITHIN = 90.0  # seconds after the deadline: a bound for a loaded machine, not a measurement
SINCE = re.compile(r"has not answered about job \S+ since (\S+) \(its last answer to this connector\)")
REPO = Path(__file__).resolve().parents[2]


def utc_epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def test_a_10_s_outage_is_ridden_out_and_the_task_succeeds(tmp_path: Path) -> None:
    """Stop the service mid-run for 10 s, restart it on the same port and database: the task succeeds."""
    with (
        run_batch_service(tmp_path) as service,
        run_connector_server(tmp_path, api_url=service.url, env=WINDOW) as connector,
    ):
        async with grpc.aio.insecure_channel(connector.address) as channel:
            alice = ConnectorDriver(channel, api_key=ALICE_KEY)
            meta = await submit(
                alice, "outage", duration_seconds=3, log_lines=6, timeout_seconds=TIMEOUT_SECONDS
            )
            seen = [await alice.get(meta)]

            await asyncio.to_thread(service.server.stop)
            loop = asyncio.get_running_loop()
            back_at = loop.time() + OUTAGE_SECONDS
            while loop.time() < back_at:
                seen.append(await alice.get(meta))
                await asyncio.sleep(0.5)
            await asyncio.to_thread(service.server.start)

            seen.append(await alice.wait(meta, poll_interval=0.2, on_phase=seen.append))
            logs = await alice.read_logs(meta)

    phases = [r.phase for r in seen]
    assert phases[-1] == TaskExecution.SUCCEEDED
    assert TaskExecution.FAILED not in phases
    assert any(r.message.startswith("batch service not answering") for r in seen)  # answered during it
    assert len(logs.lines) == 6


async def test_a_permanent_outage_fails_the_task_saying_since_when(tmp_path: Path) -> None:
    with (
        run_batch_service(tmp_path) as service,
        run_connector_server(tmp_path, api_url=service.url, env=WINDOW) as connector,
    ):
        async with grpc.aio.insecure_channel(connector.address) as channel:
            alice = ConnectorDriver(channel, api_key=ALICE_KEY)
            meta = await submit(alice, "gone", duration_seconds=60, timeout_seconds=TIMEOUT_SECONDS)
            last_answer = await alice.get(meta)
            stopped_at = time.time()
            await asyncio.to_thread(service.server.stop)

            answers: list[tuple[float, Resource, float]] = []  # asked at, answer, answered at
            give_up_by = time.monotonic() + TIMEOUT_SECONDS + GRACE_SECONDS + GIVE_UP_WITHIN
            while not answers or answers[-1][1].phase != TaskExecution.FAILED:
                assert time.monotonic() < give_up_by, f"still {answers[-1][1]} long after the deadline"
                asked_at = time.time()
                answers.append((asked_at, await alice.get(meta), time.time()))
                await asyncio.sleep(0.5)

    # The job's deadline, from the same clock and the same created_at the connector uses.
    deadline = utc_epoch(last_answer.custom_info["created_at"]) + TIMEOUT_SECONDS + GRACE_SECONDS
    *riding, (_, failed, failed_at) = answers
    assert all(r.phase == TaskExecution.RUNNING for _, r, _ in riding)
    assert all(asked_at < deadline for asked_at, _, _ in riding)  # RUNNING only before the deadline
    assert failed_at >= deadline  # FAILED only once it has passed
    since = SINCE.search(failed.message)
    assert since, failed.message
    assert utc_epoch(since.group(1)) <= stopped_at + 1  # the last time the service did answer
    assert f"{TIMEOUT_SECONDS} s timeout + {GRACE_SECONDS} s grace" in failed.message


def test_a_local_run_whose_service_dies_ends_with_the_reason(tmp_path: Path) -> None:
    """`flyte.run` polls until a terminal phase; a dead service now gives it one instead of forever."""
    name = f"dies-{uuid.uuid4().hex[:8]}"
    with run_batch_service(tmp_path) as service:
        env = base_env(
            {"BATCH_API_URL": service.url, "BATCH_API_KEY": ALICE_KEY, "HOME": str(tmp_path), **WINDOW}
        )
        env.update({"BATCH_OUTAGE_GRACE_SECONDS": "3", "COLUMNS": "1000"})
        command = [sys.executable, "-m", "tests.connector.local_run", "--name", name, "--duration", "60"]
        run = subprocess.Popen(
            [*command, "--timeout", "4"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            job = asyncio.run(running_job(service.url, name))
            service.server.stop()
            output, _ = run.communicate(timeout=4 + 3 + GIVE_UP_WITHIN)
        finally:
            run.kill()

    assert run.returncode != 0
    assert f"batch service has not answered about job {job['id']} since " in output
    assert not [line for line in output.splitlines() if line.startswith("result:")]


async def running_job(url: str, name: str) -> dict[str, object]:
    """The job the local run submitted, once it is RUNNING."""
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(600):
            listed = (await client.get("/v1/jobs", headers=ALICE)).json()["jobs"]
            jobs = [(await client.get(f"/v1/jobs/{job['id']}", headers=ALICE)).json() for job in listed]
            mine = [job for job in jobs if job["inputs"] == {"name": name}]
            if mine:
                return await wait_for_state(client, mine[0]["id"], {"RUNNING"})
            await asyncio.sleep(0.1)
    raise AssertionError(f"the local run never submitted a job named {name}")
