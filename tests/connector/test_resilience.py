"""The connector through `c0` when the batch service misbehaves: injected 503s, rate limits, an outage.

Each test starts its own service and `c0`, since each needs the service configured to fail.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from flyteidl2.connector.connector_pb2 import Resource
from flyteidl2.core.execution_pb2 import TaskExecution

from my_connector.drive import ConnectorDriver, LogRead
from tests.connector.conftest import ALICE_KEY, requests_served, submit
from tests.utils.servers import run_batch_service, run_connector_server

OUTAGE_SECONDS = 10


async def run_to_the_end(driver: ConnectorDriver, name: str) -> tuple[list[Resource], LogRead]:
    """One task as the platform runs it: create, poll until terminal (noting every answer), read its log."""
    meta = await submit(driver, name, duration_seconds=1, log_lines=6)
    seen: list[Resource] = []
    seen.append(await driver.wait(meta, poll_interval=0.3, on_phase=seen.append))
    return seen, await driver.read_logs(meta)


async def test_twenty_tasks_succeed_while_a_third_of_calls_fail(tmp_path: Path) -> None:
    with (
        run_batch_service(tmp_path, env={"BATCH_FAULT_RATE": "0.3"}) as service,
        run_connector_server(tmp_path, api_url=service.url, env={"BATCH_LOG_PAGE_SIZE": "4"}) as connector,
    ):
        async with grpc.aio.insecure_channel(connector.address) as channel:
            alice = ConnectorDriver(channel, api_key=ALICE_KEY)
            results = await asyncio.gather(*(run_to_the_end(alice, f"task-{i}") for i in range(20)))
        injected = requests_served(service, status="503")

    assert injected > 0  # the faults really happened
    for seen, logs in results:
        assert seen[-1].phase == TaskExecution.SUCCEEDED, seen[-1].message
        assert TaskExecution.FAILED not in {r.phase for r in seen}
        assert len(logs.lines) == 6


async def test_tasks_succeed_under_the_services_rate_limit(tmp_path: Path) -> None:
    with (
        run_batch_service(tmp_path, env={"BATCH_RATE_LIMIT": "3"}) as service,
        run_connector_server(tmp_path, api_url=service.url) as connector,
    ):
        async with grpc.aio.insecure_channel(connector.address) as channel:
            alice = ConnectorDriver(channel, api_key=ALICE_KEY)
            results = await asyncio.gather(*(run_to_the_end(alice, f"task-{i}") for i in range(4)))
        limited = requests_served(service, status="429")

    assert limited > 0
    assert all(seen[-1].phase == TaskExecution.SUCCEEDED for seen, _ in results)


async def test_a_task_rides_out_a_service_outage(tmp_path: Path) -> None:
    """Stop the service mid-run for 10 s, restart it on the same port and database: the task succeeds."""
    with (
        run_batch_service(tmp_path) as service,
        run_connector_server(
            tmp_path, api_url=service.url, env={"BATCH_RETRY_TIMEOUT_SECONDS": "1"}
        ) as connector,
    ):
        async with grpc.aio.insecure_channel(connector.address) as channel:
            alice = ConnectorDriver(channel, api_key=ALICE_KEY)
            meta = await submit(alice, "outage", duration_seconds=3, log_lines=6)
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
    assert any("batch service unavailable" in r.message for r in seen)  # answered during the outage
    assert len(logs.lines) == 6
