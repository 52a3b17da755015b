"""Fixtures for the connector's tests: an in-memory API for unit tests, real servers end to end.

End-to-end fixtures are module-scoped: starting `batch-service` and `c0` costs seconds,
and the tests using them each make their own jobs, so they cannot disturb one another.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import grpc
import httpx
import pytest
import stamina
from prometheus_client.parser import text_string_to_metric_families

from batch_testkit.drive import ConnectorDriver, demo_task
from batch_testkit.keys import ALICE_KEY, BOB_KEY
from batch_testkit.platform import task_inputs, task_template
from batch_testkit.servers import BatchService, ConnectorServer, run_batch_service, run_connector_server
from my_connector.task import BatchJobConfig
from tests.connector.fake_api import FakeBatchApi

# c0 logs at its most verbose in these tests, so a key logged at any level would be caught.
VERBOSE = {"LOG_LEVEL": "debug", "USER_LOG_LEVEL": "debug"}


def quick_job(**overrides: object) -> BatchJobConfig:
    """A job that finishes in about a second and writes enough lines for several log pages."""
    values: dict[str, object] = {"timeout_seconds": 60, "duration_seconds": 0.5, "log_lines": 10, **overrides}
    return BatchJobConfig(**values)  # type: ignore[arg-type]


async def submit(driver: ConnectorDriver, name: str = "hello", **config: object) -> bytes:
    """CreateTask for a `quick_job` (with `config` overrides) taking `name`; returns the resource meta."""
    task = demo_task(quick_job(**config))
    return await driver.create(task_template(task), await task_inputs(task, name=name))


@pytest.fixture
def fake_api() -> Iterator[FakeBatchApi]:
    """A fresh in-memory batch API; retries run without waiting (stamina's test mode)."""
    with stamina.set_testing(True, attempts=100, cap=True):
        yield FakeBatchApi()


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BatchService]:
    with run_batch_service(tmp_path_factory.mktemp("batch-service")) as service:
        yield service


@pytest.fixture(scope="module")
def live_connector(
    live_service: BatchService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConnectorServer]:
    """`c0 --modules my_connector` with no key of its own: every task brings its owner's key."""
    with run_connector_server(
        tmp_path_factory.mktemp("c0"), api_url=live_service.url, env={"BATCH_LOG_PAGE_SIZE": "4", **VERBOSE}
    ) as server:
        yield server


@pytest.fixture
async def channel(live_connector: ConnectorServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(live_connector.address) as channel:
        yield channel


@pytest.fixture
def alice(channel: grpc.aio.Channel) -> ConnectorDriver:
    """The platform running alice's tasks: her key travels in `connection.secrets`."""
    return ConnectorDriver(channel, api_key=ALICE_KEY)


@pytest.fixture
def bob(channel: grpc.aio.Channel) -> ConnectorDriver:
    return ConnectorDriver(channel, api_key=BOB_KEY)


def requests_served(service: BatchService, **labels: str) -> int:
    """Requests the service has answered whose labels (method, route, status) match, from /metrics."""
    total = 0.0
    for family in text_string_to_metric_families(httpx.get(f"{service.url}/metrics").text):
        for sample in family.samples:
            if sample.name == "batch_http_requests_total" and labels.items() <= sample.labels.items():
                total += sample.value
    return int(total)


@pytest.fixture(scope="module")
def kit_connector(
    batch_service_server: BatchService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConnectorServer]:
    """`c0` against the test kit's session service (test mode: scenarios, rules, the clock),
    with 4-line log pages and a call budget with room for a few `Retry-After`s."""
    env = {"BATCH_LOG_PAGE_SIZE": "4", "BATCH_CALL_BUDGET_SECONDS": "10"}
    with run_connector_server(
        tmp_path_factory.mktemp("kit-c0"), api_url=batch_service_server.url, env=env
    ) as server:
        yield server


@pytest.fixture
async def kit_alice(kit_connector: ConnectorServer) -> AsyncIterator[ConnectorDriver]:
    """The platform running alice's tasks through `kit_connector`."""
    async with grpc.aio.insecure_channel(kit_connector.address) as channel:
        yield ConnectorDriver(channel, api_key=ALICE_KEY)
