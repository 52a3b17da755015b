"""The connector through `c0` when the batch service misbehaves: injected 503s and rate limits.

Outages are in test_outage_end.py.

Each test starts its own service and `c0`, since each needs the service configured to fail.
`c0` gets a call budget long enough for ten tries with the service's `Retry-After: 1`: these
tests are about retries riding out faults; the platform's few-second deadline is
test_deadlines.py's subject (there, an exhausted budget is UNAVAILABLE and the platform retries).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from flyteidl2.connector.connector_pb2 import Resource
from flyteidl2.core.execution_pb2 import TaskExecution

from batch_testkit.drive import ConnectorDriver
from batch_testkit.platform import LogRead
from batch_testkit.servers import run_batch_service, run_connector_server
from tests.connector.conftest import ALICE_KEY, requests_served, submit

PATIENT = {"BATCH_CALL_BUDGET_SECONDS": "15"}


async def run_to_the_end(driver: ConnectorDriver, name: str) -> tuple[list[Resource], LogRead]:
    """One task as the platform runs it: create, poll until terminal (noting every answer), read its log."""
    meta = await submit(driver, name, duration_seconds=1, log_lines=6)
    seen: list[Resource] = []
    seen.append(await driver.wait(meta, poll_interval=0.3, on_phase=seen.append))
    return seen, await driver.read_logs(meta)


async def test_twenty_tasks_succeed_while_a_third_of_calls_fail(tmp_path: Path) -> None:
    with (
        run_batch_service(tmp_path, env={"BATCH_FAULT_RATE": "0.3"}) as service,
        run_connector_server(
            tmp_path, api_url=service.url, env={"BATCH_LOG_PAGE_SIZE": "4", **PATIENT}
        ) as connector,
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
        run_connector_server(tmp_path, api_url=service.url, env=PATIENT) as connector,
    ):
        async with grpc.aio.insecure_channel(connector.address) as channel:
            alice = ConnectorDriver(channel, api_key=ALICE_KEY)
            results = await asyncio.gather(*(run_to_the_end(alice, f"task-{i}") for i in range(4)))
        limited = requests_served(service, status="429")

    assert limited > 0
    assert all(seen[-1].phase == TaskExecution.SUCCEEDED for seen, _ in results)
