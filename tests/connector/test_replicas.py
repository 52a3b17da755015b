"""Two `c0` replicas behind one address give the same answers, GetTask calls alternating between them.

The platform runs several connector replicas and sends each call to any of them. Whatever a
replica saw earlier must not change the phase it reports: not for a finished job, not for a
job that moved on while the other replica was asked, and not during an outage, up to the
moment both give the job up.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from flyteidl2.connector.connector_pb2 import Resource
from flyteidl2.core.execution_pb2 import TaskExecution
from google.protobuf import json_format

from batch_testkit.drive import ConnectorDriver
from batch_testkit.keys import ALICE_KEY
from batch_testkit.servers import BatchService, ConnectorServer, run_batch_service, run_connector_server
from tests.connector.conftest import submit

TIMEOUT_SECONDS, GRACE_SECONDS = 8, 4
WINDOW = {"BATCH_OUTAGE_GRACE_SECONDS": str(GRACE_SECONDS), "BATCH_CALL_BUDGET_SECONDS": "1"}
GIVE_UP = re.compile(r"giving up: the job should have ended by .*? grace\)")
RANK = {TaskExecution.QUEUED: 0, TaskExecution.RUNNING: 1, TaskExecution.FAILED: 2}


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[BatchService, ConnectorServer, ConnectorServer]]:
    """One service running one job at a time, and two replicas of the connector in front of it."""
    with (
        run_batch_service(tmp_path, env={"BATCH_MAX_RUNNING": "1"}) as service,
        run_connector_server(tmp_path, api_url=service.url, env=WINDOW) as first,
        run_connector_server(tmp_path, api_url=service.url, env=WINDOW) as second,
    ):
        yield service, first, second


@asynccontextmanager
async def drivers(*replicas: ConnectorServer) -> AsyncIterator[list[ConnectorDriver]]:
    async with (
        grpc.aio.insecure_channel(replicas[0].address) as one,
        grpc.aio.insecure_channel(replicas[1].address) as two,
    ):
        yield [ConnectorDriver(one, api_key=ALICE_KEY), ConnectorDriver(two, api_key=ALICE_KEY)]


def answer(resource: Resource) -> dict[str, object]:
    """Everything GetTask says, as plain data."""
    return json_format.MessageToDict(resource)


async def both(replicas: list[ConnectorDriver], meta: bytes) -> list[Resource]:
    return [await replica.get(meta) for replica in replicas]


async def until(driver: ConnectorDriver, meta: bytes, done: Callable[[Resource], bool]) -> Resource:
    for _ in range(600):
        resource = await driver.get(meta)
        if done(resource):
            return resource
        await asyncio.sleep(0.1)
    raise AssertionError(f"never reached the expected phase; last: {resource}")


async def test_two_replicas_agree_through_a_jobs_life_and_an_outage(
    servers: tuple[BatchService, ConnectorServer, ConnectorServer],
) -> None:
    service, *replica_servers = servers
    async with drivers(*replica_servers) as replicas:
        first, second = replicas
        done = await submit(first, "done", duration_seconds=0.2, log_lines=2)
        await until(second, done, lambda r: r.phase == TaskExecution.SUCCEEDED)
        blocker = await submit(first, "blocker", duration_seconds=120, log_lines=0)
        await until(first, blocker, lambda r: r.phase == TaskExecution.RUNNING)
        job = await submit(second, "job", duration_seconds=60, log_lines=0, timeout_seconds=TIMEOUT_SECONDS)

        finished_answers = await both(replicas, done)
        running_answers = await both(replicas, blocker)
        queued_answers = await both(replicas, job)  # each replica has now seen the job QUEUED
        await second.delete(blocker)  # its slot frees: the job starts
        await until(second, job, lambda r: r.phase == TaskExecution.RUNNING)  # only `second` sees it run

        await asyncio.to_thread(service.server.stop)
        outage: list[Resource] = []
        while not outage or outage[-1].phase != TaskExecution.FAILED:
            assert len(outage) < 200, f"never given up: {outage[-1]}"
            outage.append(await replicas[len(outage) % 2].get(job))
            await asyncio.sleep(0.25)
        for _ in range(3):  # and both replicas, asked again, keep giving it up
            outage.append(await replicas[len(outage) % 2].get(job))

    for pair in (finished_answers, queued_answers, running_answers):
        assert answer(pair[0]) == answer(pair[1])
    assert finished_answers[0].phase == TaskExecution.SUCCEEDED
    assert queued_answers[0].phase == TaskExecution.QUEUED
    assert running_answers[0].phase == TaskExecution.RUNNING

    phases = [r.phase for r in outage]
    assert set(phases) == {TaskExecution.RUNNING, TaskExecution.FAILED}  # never QUEUED, as `first` last saw
    assert [RANK[p] for p in phases] == sorted(RANK[p] for p in phases)  # never back from FAILED
    assert len({json_format.MessageToJson(r.custom_info, sort_keys=True) for r in outage}) == 1
    assert len({tuple(link.uri for link in r.log_links) for r in outage}) == 1
    given_up = [
        (i % 2, GIVE_UP.search(r.message)) for i, r in enumerate(outage) if r.phase == TaskExecution.FAILED
    ]
    assert {replica for replica, _ in given_up} == {0, 1}
    assert len({found.group(0) for _, found in given_up if found}) == 1, outage[-1].message
    assert all(found for _, found in given_up)
