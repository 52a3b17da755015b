"""How `c0` finds the connector: the `flyte.connectors` entry point, and registration at import."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import grpc
import pytest
from flyte.connectors import ConnectorRegistry
from flyteidl2.connector.connector_pb2 import GetConnectorRequest, ListConnectorsRequest, TaskCategory
from flyteidl2.connector.service_pb2_grpc import ConnectorMetadataServiceStub
from flyteidl2.core.execution_pb2 import TaskExecution

from batch_testkit.drive import ConnectorDriver
from batch_testkit.servers import BatchService, run_connector_server
from my_connector.connector import BatchJobConnector
from tests.connector.conftest import ALICE_KEY, submit


def test_the_entry_point_loads_the_connector() -> None:
    (entry_point,) = [ep for ep in entry_points(group="flyte.connectors") if ep.name == "batch_job"]

    assert entry_point.load() is BatchJobConnector


def test_an_unserved_task_type_is_a_value_error_as_register_expects() -> None:
    """`register()` reads a ValueError as "nobody serves batch_job yet"; the SDK must keep raising one."""
    with pytest.raises(ValueError, match="Cannot find connector"):
        ConnectorRegistry.get_connector("no_such_task_type")


def test_importing_and_reloading_registers_the_connector_once() -> None:
    program = """
import importlib
from flyte.connectors import ConnectorRegistry
import my_connector.connector
importlib.import_module("my_connector")
importlib.reload(my_connector.connector)
(connector,) = ConnectorRegistry._list_connectors()
print(connector.name, [c.name for c in connector.supported_task_categories])
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Batch Job Connector ['batch_job']"


async def test_plain_c0_serves_batch_job_through_the_entry_point(
    live_service: BatchService, tmp_path: Path
) -> None:
    """No --modules: c0 finds us by entry point only. Its own BATCH_API_KEY serves keyless tasks."""
    with run_connector_server(tmp_path, api_url=live_service.url, api_key=ALICE_KEY, modules=()) as connector:
        async with grpc.aio.insecure_channel(connector.address) as channel:
            metadata = ConnectorMetadataServiceStub(channel)
            listed = (await metadata.ListConnectors(ListConnectorsRequest())).connectors
            described = (
                await metadata.GetConnector(GetConnectorRequest(name="Batch Job Connector"))
            ).connector
            driver = ConnectorDriver(channel)  # no per-task key: the connector's own is used
            resource = await driver.wait(await submit(driver), poll_interval=0.2)
        log = connector.server.log()

    assert "--modules" not in connector.server.command
    assert [c.name for c in listed] == ["Batch Job Connector"]
    assert list(described.supported_task_categories) == [TaskCategory(name="batch_job", version=0)]
    assert resource.phase == TaskExecution.SUCCEEDED, resource.message
    assert ALICE_KEY not in log
