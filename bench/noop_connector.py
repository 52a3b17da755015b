"""Connectors that do no work: the GetTask baselines, served by the same `c0` as `batch_job`.

    c0 --port 8000 --modules my_connector --modules bench.noop_connector

`noop_job`'s `get` answers at once with a fixed RUNNING `Resource` shaped like the one
`BatchJobConnector` returns for a running job (a message, one log link, and `custom_info`
naming the job's state), so the two differ only in what the batch connector does to find
the job's state: one HTTP call to the service, and the service's work behind it.

`http_noop_job` is the same plus one GET of a URL from its metadata, with the HTTP client
stack the batch connector uses (`my_connector.client`: httpx over aiohttp's transport,
the same pool), whose JSON body it decodes for the job's `state`, as any connector must:
pointed at the bare baseline app, it is the floor for a connector that asks an HTTP API
for a job's state. `httpx_noop_job` and `httpx_keepalive_noop_job` do the same GET with
httpx's own transport (its default pool; the connector's pool), for `bench.transports`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from flyteidl2.core.execution_pb2 import TaskExecution, TaskLog
from flyteidl2.core.tasks_pb2 import TaskTemplate

from my_connector.client import POOL_LIMITS, pooled_transport

TASK_TYPE = "noop_job"
HTTP_TASK_TYPE = "http_noop_job"  # the connector's own HTTP client stack
HTTPX_TASK_TYPE = "httpx_noop_job"  # httpx's defaults (bench/transports.py)
HTTPX_KEEPALIVE_TASK_TYPE = "httpx_keepalive_noop_job"  # httpx's transport, the connector's pool


@dataclass
class NoopMetadata(ResourceMeta):
    job_id: str


class NoopConnector(AsyncConnector[NoopMetadata]):
    name = "No-op Connector (benchmark baseline)"
    task_type_name = TASK_TYPE
    metadata_type = NoopMetadata

    async def create(
        self,
        task_template: TaskTemplate,
        output_prefix: str = "",
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> NoopMetadata:
        return NoopMetadata(job_id="noop")

    async def get(self, resource_meta: NoopMetadata, **kwargs: Any) -> Resource:
        return running(resource_meta.job_id, "RUNNING")

    async def delete(self, resource_meta: NoopMetadata, **kwargs: Any) -> None:
        return None


@dataclass
class HttpNoopMetadata(ResourceMeta):
    job_id: str
    url: str


class HttpNoopConnector(AsyncConnector[HttpNoopMetadata]):
    """`noop_job` plus one pooled GET of `url`, with the client `make_client` builds."""

    name = "HTTP No-op Connector (benchmark reference)"
    metadata_type = HttpNoopMetadata

    def __init__(self, task_type: str, make_client: Callable[[], httpx.AsyncClient]) -> None:
        self.task_type_name = task_type
        self._make_client = make_client
        self._client: httpx.AsyncClient | None = None  # made on first use, on c0's loop

    async def create(
        self,
        task_template: TaskTemplate,
        output_prefix: str = "",
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> HttpNoopMetadata:
        raise NotImplementedError("benchmarks build HttpNoopMetadata themselves")

    async def get(self, resource_meta: HttpNoopMetadata, **kwargs: Any) -> Resource:
        if self._client is None:
            self._client = self._make_client()
        response = (await self._client.get(resource_meta.url)).raise_for_status()
        return running(resource_meta.job_id, response.json()["state"])

    async def delete(self, resource_meta: HttpNoopMetadata, **kwargs: Any) -> None:
        return None


def running(job_id: str, state: str) -> Resource:
    """RUNNING, with the state that was read in `custom_info`, as `BatchJobConnector` reports it."""
    return Resource(
        phase=TaskExecution.RUNNING,
        message=f"job {job_id} running (0 log lines so far)",
        log_links=[TaskLog(name="Batch job logs", uri=f"http://127.0.0.1/v1/jobs/{job_id}/logs", ready=True)],
        custom_info={"job_id": job_id, "state": state},
    )


def connector_stack_client() -> httpx.AsyncClient:
    """The HTTP client stack `BatchApiClient` uses: its transport and pool limits."""
    return httpx.AsyncClient(timeout=10.0, transport=pooled_transport(), limits=POOL_LIMITS)


def httpx_default_client() -> httpx.AsyncClient:
    """httpx as it comes: its own transport, 20 kept-alive connections."""
    return httpx.AsyncClient(timeout=10.0)


def httpx_keepalive_client() -> httpx.AsyncClient:
    """httpx's own transport with the connector's pool limits."""
    return httpx.AsyncClient(timeout=10.0, limits=POOL_LIMITS)


ConnectorRegistry.register(NoopConnector())
ConnectorRegistry.register(HttpNoopConnector(HTTP_TASK_TYPE, connector_stack_client))
ConnectorRegistry.register(HttpNoopConnector(HTTPX_TASK_TYPE, httpx_default_client))
ConnectorRegistry.register(HttpNoopConnector(HTTPX_KEEPALIVE_TASK_TYPE, httpx_keepalive_client))
