"""Every RPC of `c0` answers within the connector's call budget, whatever the batch service does.

The platform gives CreateTask and GetTask a few seconds. Against a socket that accepts
connections and never answers, and against a service that was stopped, each call must come
back within the budget (3 s by default, every retry included): GetTask with RUNNING and a
message, the others with an error, CreateTask's retryable (UNAVAILABLE). The measured times
are printed (`pytest -s`); the assertions hold only an upper bound that a loaded machine meets.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import grpc
import pytest
from flyteidl2.core.execution_pb2 import TaskExecution

from batch_testkit.drive import ConnectorDriver, demo_task
from batch_testkit.keys import ALICE_KEY
from batch_testkit.platform import task_inputs, task_template
from batch_testkit.servers import run_batch_service, run_connector_server
from tests.connector.conftest import quick_job, submit

T = TypeVar("T")

DEFAULT_BUDGET_SECONDS = 3.0
UPPER_BOUND_SECONDS = 10.0  # the 3 s budget plus gRPC and c0's own work, on a busy 2-core machine


@pytest.fixture(scope="module")
def silent_service() -> Iterator[str]:
    """A TCP socket whose kernel accepts connections (the backlog) but which never reads or answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def timed(what: str, call: Callable[[], Awaitable[T]]) -> tuple[float, T | grpc.aio.AioRpcError]:
    """Run `call`, print how long it took, and return the time with its result or its gRPC error."""
    started = time.monotonic()
    try:
        result: T | grpc.aio.AioRpcError = await call()
    except grpc.aio.AioRpcError as error:
        result = error
    elapsed = time.monotonic() - started
    print(f"{what}: answered in {elapsed:.2f} s")
    return elapsed, result


def meta_submitted_now(job_id: str = "job-0123456789abcdef01234567") -> bytes:
    """Metadata as CreateTask would have returned it for a job submitted just now."""
    meta = {
        "job_id": job_id,
        "logs_token": "not-a-real-token",
        "output_names": ["result"],
        "submitted_at": time.time(),
        "timeout_seconds": 60,
    }
    return json.dumps(meta).encode()


async def test_every_rpc_answers_a_silent_service_within_the_default_budget(
    silent_service: str, tmp_path: Path
) -> None:
    task = demo_task(quick_job())
    with run_connector_server(tmp_path, api_url=silent_service) as connector:
        async with grpc.aio.insecure_channel(connector.address) as channel:
            alice = ConnectorDriver(channel, api_key=ALICE_KEY)
            inputs = await task_inputs(task, name="x")
            create_time, created = await timed(
                "CreateTask, silent service", lambda: alice.create(task_template(task), inputs)
            )
            get_time, got = await timed("GetTask, silent service", lambda: alice.get(meta_submitted_now()))
            delete_time, deleted = await timed(
                "DeleteTask, silent service", lambda: alice.delete(meta_submitted_now())
            )
            logs_time, logs = await timed(
                "GetTaskLogs, silent service", lambda: alice.log_page(meta_submitted_now())
            )
            metrics_time, metrics = await timed(
                "GetTaskMetrics, silent service", lambda: alice.metrics(meta_submitted_now())
            )

    assert max(create_time, get_time, delete_time, logs_time, metrics_time) < UPPER_BOUND_SECONDS
    assert isinstance(created, grpc.aio.AioRpcError)
    assert created.code() == grpc.StatusCode.UNAVAILABLE  # retryable: the platform tries again
    assert f"did not answer POST /v1/jobs within {DEFAULT_BUDGET_SECONDS:g} s" in (created.details() or "")
    assert not isinstance(got, grpc.aio.AioRpcError)
    assert got.phase == TaskExecution.RUNNING
    assert got.message.startswith("batch service not answering; job job-0123456789abcdef01234567 ")
    assert isinstance(deleted, grpc.aio.AioRpcError)
    assert deleted.code() == grpc.StatusCode.UNAVAILABLE
    assert isinstance(logs, grpc.aio.AioRpcError)  # GetTaskLogs and GetTaskMetrics: the SDK's UNKNOWN
    assert isinstance(metrics, grpc.aio.AioRpcError)


async def test_a_stopped_service_is_answered_within_a_configured_budget(tmp_path: Path) -> None:
    task = demo_task(quick_job(duration_seconds=60))
    with (
        run_batch_service(tmp_path) as service,
        run_connector_server(
            tmp_path, api_url=service.url, env={"BATCH_CALL_BUDGET_SECONDS": "1.5"}
        ) as connector,
    ):
        async with grpc.aio.insecure_channel(connector.address) as channel:
            alice = ConnectorDriver(channel, api_key=ALICE_KEY)
            meta = await submit(alice, duration_seconds=60)
            service.server.stop()
            inputs = await task_inputs(task, name="x")
            get_time, got = await timed("GetTask, stopped service", lambda: alice.get(meta))
            create_time, created = await timed(
                "CreateTask, stopped service", lambda: alice.create(task_template(task), inputs)
            )

    assert max(get_time, create_time) < UPPER_BOUND_SECONDS
    assert not isinstance(got, grpc.aio.AioRpcError)
    assert got.phase == TaskExecution.RUNNING
    assert "batch service not answering" in got.message
    assert isinstance(created, grpc.aio.AioRpcError)
    assert created.code() == grpc.StatusCode.UNAVAILABLE
    assert "did not answer POST /v1/jobs within 1.5 s" in (created.details() or "")
