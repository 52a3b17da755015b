"""Connectors that do no work: the GetTask baselines, served by the same `c0` as `batch_job`.

    c0 --port 8000 --modules my_connector --modules bench.noop_connector

`noop_job`'s `get` answers at once with a fixed RUNNING `Resource` shaped like the one
`BatchJobConnector` returns for a running job (a message, one log link, and `custom_info`
naming the job's state), so the two differ only in what the batch connector does to find
the job's state: one HTTP call to the service, and the service's work behind it.

`http_noop_job` is the same plus one GET (pooled httpx client, as the batch connector's)
of a URL from its metadata, whose JSON body it decodes for the job's `state`, as any
connector must: pointed at the bare baseline app, it is the floor for any connector that
asks an HTTP API for a job's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from flyteidl2.core.execution_pb2 import TaskExecution, TaskLog
from flyteidl2.core.tasks_pb2 import TaskTemplate

TASK_TYPE = "noop_job"
HTTP_TASK_TYPE = "http_noop_job"


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
    name = "HTTP No-op Connector (benchmark reference)"
    task_type_name = HTTP_TASK_TYPE
    metadata_type = HttpNoopMetadata

    def __init__(self) -> None:
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
            self._client = httpx.AsyncClient(timeout=10.0)
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


ConnectorRegistry.register(NoopConnector())
ConnectorRegistry.register(HttpNoopConnector())
