"""GetTaskMetrics over a real `c0`: the job's CPU and memory over its run, paged from the service."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import httpx
import pytest
from flyteidl2.core.execution_pb2 import TaskExecution
from google.protobuf import json_format

from batch_testkit.drive import ConnectorDriver, job_id_of
from batch_testkit.keys import ALICE_KEY, bearer
from batch_testkit.servers import BatchService, ConnectorServer, run_batch_service, run_connector_server
from my_connector.metrics import CPU_METRIC, MEMORY_METRIC
from tests.connector.conftest import requests_served, submit

USAGE_ROUTE = {"method": "GET", "route": "/v1/jobs/{job_id}/usage"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BatchService, ConnectorServer]]:
    """c0 asks for two samples a page, so even a short job's series takes several pages."""
    workdir = tmp_path_factory.mktemp("metrics")
    with (
        run_batch_service(workdir) as service,
        run_connector_server(workdir, api_url=service.url, env={"BATCH_USAGE_PAGE_SIZE": "2"}) as connector,
    ):
        yield service, connector


@pytest.fixture
async def alice(servers: tuple[BatchService, ConnectorServer]) -> AsyncIterator[ConnectorDriver]:
    async with grpc.aio.insecure_channel(servers[1].address) as channel:
        yield ConnectorDriver(channel, api_key=ALICE_KEY)


def service_series(service: BatchService, meta: bytes) -> list[dict[str, Any]]:
    """The job's whole series, straight from the service, read with the job's logs token."""
    logs_token = json.loads(meta)["logs_token"]
    page = httpx.get(f"{service.url}/v1/jobs/{job_id_of(meta)}/usage", headers=bearer(logs_token)).json()
    assert page["next_page_token"] is None
    return page["samples"]


async def test_a_finished_jobs_cpu_and_memory_arrive_whole_as_prometheus_matrices(
    alice: ConnectorDriver, servers: tuple[BatchService, ConnectorServer]
) -> None:
    service, _ = servers
    meta = await submit(
        alice, duration_seconds=3, usage={"cpu_cores": 2.0, "memory_mib": 256, "shape": "ramp"}
    )
    assert (await alice.wait(meta, poll_interval=0.2)).phase == TaskExecution.SUCCEEDED
    pages_before = requests_served(service, **USAGE_ROUTE)

    response = await alice.metrics(meta)

    assert requests_served(service, **USAGE_ROUTE) - pages_before == 2  # 4 samples, 2 a page
    expected = service_series(service, meta)
    results = {result.metric: json_format.MessageToDict(result.data) for result in response.results}
    assert list(results) == [CPU_METRIC, MEMORY_METRIC]
    for metric, field in ((CPU_METRIC, "cpu_cores"), (MEMORY_METRIC, "memory_bytes")):
        (series,) = results[metric]["result"]
        assert results[metric]["resultType"] == "matrix"
        assert series["metric"] == {"job_id": job_id_of(meta)}
        assert [float(value) for _, value in series["values"]] == [sample[field] for sample in expected]
    timestamps = [at for at, _ in results[CPU_METRIC]["result"][0]["values"]]
    assert [b - a for a, b in itertools.pairwise(timestamps)] == [1.0, 1.0, 1.0]


async def test_a_running_jobs_metrics_hold_its_run_so_far(alice: ConnectorDriver) -> None:
    meta = await submit(alice, duration_seconds=600)
    for _ in range(100):
        if (await alice.get(meta)).phase == TaskExecution.RUNNING:
            break
        await asyncio.sleep(0.1)

    response = await alice.metrics(meta)
    await alice.delete(meta)

    for result in response.results:
        (series,) = json_format.MessageToDict(result.data)["result"]
        assert 1 <= len(series["values"]) < 600
