"""The `batch_job` connector: Flyte's create / get / delete / get_logs on top of the batch API.

Flyte (or `c0`, or a local `flyte.run`) calls these methods; each turns into one or two
calls of `BatchApiClient`. What the connector adds to the client is the Flyte side: the
job spec from the task template, an idempotency key from the task execution, the job
state → task phase table (`phases.py`), outputs under the task's declared names, log pages
as `LogLine`s, and what to answer while the service is silent (`outage.py`). State it
must keep between calls lives in `BatchJobMetadata`, which the platform stores and hands
back; it holds the job-scoped logs token, never a user's key.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeGuard, TypeVar
from urllib.parse import quote, urlencode

from flyte import logger
from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource
from flyteidl2.connector.connector_pb2 import (
    GetTaskLogsResponse,
    GetTaskLogsResponseBody,
    GetTaskLogsResponseHeader,
    GetTaskMetricsResponse,
    TaskExecutionMetadata,
)
from flyteidl2.core.execution_pb2 import TaskExecution, TaskLog
from flyteidl2.core.tasks_pb2 import TaskTemplate
from flyteidl2.logs.dataplane.payload_pb2 import LogLine, LogLineOriginator
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic_core import PydanticSerializationError, to_jsonable_python

from my_connector import grpc_status
from my_connector.api import (
    BatchApiError,
    BatchServiceUnavailable,
    JobNotFound,
    JobRequest,
    LogEntry,
    UsageSample,
)
from my_connector.client import BatchApiClient
from my_connector.metadata import BatchJobMetadata
from my_connector.metrics import task_metrics
from my_connector.outage import LastContact, unanswered_resource
from my_connector.phases import TERMINAL_PHASES, job_resource
from my_connector.settings import ConnectorSettings

__all__ = ["TASK_TYPE", "BatchJobConnector", "BatchJobMetadata", "MissingApiKey", "register"]

T = TypeVar("T")

TASK_TYPE = "batch_job"
MAX_JOB_NAME = 200


class MissingApiKey(RuntimeError):
    """The service wants a key, and neither a per-task `api_key` secret nor `BATCH_API_KEY` gave one."""


def names_an_attempt(metadata: TaskExecutionMetadata | None) -> TypeGuard[TaskExecutionMetadata]:
    """Whether CreateTask came with a task execution id: the platform's does, a local run's not."""
    return metadata is not None and metadata.HasField("task_execution_id")


def idempotency_key(metadata: TaskExecutionMetadata | None) -> str:
    """One key per task execution attempt, so a re-sent CreateTask finds the job it already made.

    Without an execution id (a local run) the key is random: it still makes this create
    call's own retries safe, which is all a local run needs.
    """
    if not names_an_attempt(metadata):
        return f"local-{uuid.uuid4().hex}"
    execution = metadata.task_execution_id
    task, node = execution.task_id, execution.node_execution_id
    run = node.execution_id
    parts = [
        task.org, task.project, task.domain, task.name, task.version,
        run.org, run.project, run.domain, run.name, node.node_id,
        str(execution.retry_attempt),
    ]  # fmt: skip
    return "flyte-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def job_request(task_template: TaskTemplate, inputs: Mapping[str, Any] | None) -> JobRequest:
    """The job spec: the task's `BatchJobConfig` (from `custom`) plus its inputs as JSON."""
    custom = json_format.MessageToDict(task_template.custom) if task_template.HasField("custom") else {}
    custom.pop("secrets", None)
    json_inputs: dict[str, Any] = {}
    for name, value in (inputs or {}).items():
        try:
            json_inputs[name] = to_jsonable_python(value)
        except PydanticSerializationError as exc:
            raise TypeError(
                f"input {name!r} ({type(value).__name__}) cannot be sent to the batch API as JSON"
            ) from exc
    name = (task_template.id.name or TASK_TYPE)[:MAX_JOB_NAME]
    return JobRequest.model_validate({**custom, "name": name, "inputs": json_inputs})


def log_line(entry: LogEntry) -> LogLine:
    """A service log line as Flyte's `LogLine`. `LogLine` has no level, so it leads the message."""
    timestamp = Timestamp()
    timestamp.FromDatetime(entry.timestamp)
    return LogLine(
        timestamp=timestamp, message=f"[{entry.level}] {entry.message}", originator=LogLineOriginator.USER
    )


class BatchJobConnector(AsyncConnector[BatchJobMetadata]):
    """Runs `batch_job` tasks as jobs of the batch service.

    `api` is for tests; the registered instance builds its client from `ConnectorSettings`
    on first use, so the environment is read when the connector starts working, not when
    it is imported. Every call ends within the client's call budget, whatever the service
    does. Nothing a process remembers changes a phase, so replicas agree (see `outage.py`).
    """

    name = "Batch Job Connector"
    task_type_name = TASK_TYPE
    metadata_type = BatchJobMetadata

    def __init__(self, api: BatchApiClient | None = None) -> None:
        self._api = api
        self._contact = LastContact()

    @property
    def api(self) -> BatchApiClient:
        if self._api is None:
            self._api = BatchApiClient(ConnectorSettings())
        return self._api

    async def create(
        self,
        task_template: TaskTemplate,
        output_prefix: str = "",
        inputs: dict[str, Any] | None = None,
        task_execution_metadata: TaskExecutionMetadata | None = None,
        api_key: str | None = None,
        **kwargs: Any,
    ) -> BatchJobMetadata:
        """Submit the job. An unanswering service raises `BatchServiceUnavailable` (gRPC UNAVAILABLE)."""
        spec = job_request(task_template, inputs)
        key = idempotency_key(task_execution_metadata)
        job = await self._authorized(
            api_key, lambda bearer: self.api.submit_job(spec, api_key=bearer, idempotency_key=key)
        )
        logger.info(f"batch job {job.id} submitted for task {spec.name} ({job.state})")
        return BatchJobMetadata(
            job_id=job.id,
            logs_token=job.logs_token,
            output_names=[entry.key for entry in task_template.interface.outputs.variables],
            submitted_at=job.created_at.timestamp(),
            timeout_seconds=job.spec.timeout_seconds,
            caller_retries=names_an_attempt(task_execution_metadata),
        )

    async def get(
        self, resource_meta: BatchJobMetadata, api_key: str | None = None, **kwargs: Any
    ) -> Resource:
        """The job's phase. An outage is not a failure until the job is past its deadline (`outage.py`)."""
        job_id = resource_meta.job_id
        log_links = [TaskLog(name="Batch job logs", uri=self._log_link(resource_meta), ready=True)]
        try:
            job = await self._authorized(api_key, lambda bearer: self.api.get_job(job_id, api_key=bearer))
        except BatchServiceUnavailable as exc:
            now = time.time()
            resource = unanswered_resource(
                resource_meta,
                exc,
                silence=self._contact.silence(job_id, now),
                now=now,
                grace_seconds=self.api.settings.outage_grace_seconds,
                log_links=log_links,
            )
            logger.warning(f"batch job {job_id}: {resource.message}")
        except JobNotFound:
            resource = Resource(
                phase=TaskExecution.FAILED,
                message=f"job {job_id} not found: it does not exist or belongs to another API key's owner",
                custom_info={"job_id": job_id, "state": None},
            )
        else:
            self._contact.answered(job_id, time.time())
            resource = job_resource(
                job, resource_meta.output_names, log_links, caller_retries=resource_meta.caller_retries
            )
        if resource.phase in TERMINAL_PHASES:
            self._contact.forget(job_id)
        return resource

    async def delete(
        self, resource_meta: BatchJobMetadata, api_key: str | None = None, **kwargs: Any
    ) -> None:
        """Cancel the job. Deleting twice, an unknown job or a finished one all succeed."""
        try:
            job = await self._authorized(
                api_key, lambda bearer: self.api.cancel_job(resource_meta.job_id, api_key=bearer)
            )
        except JobNotFound:
            logger.info(f"batch job {resource_meta.job_id} not found; nothing to cancel")
            return
        logger.info(f"batch job {job.id} cancel requested; now {job.state}")

    async def get_logs(
        self, resource_meta: BatchJobMetadata, token: str = "", **kwargs: Any
    ) -> AsyncIterator[GetTaskLogsResponse]:
        """One service page per call: its lines, then a header with the next token while there is one.

        The caller asks again with that token; no header means the job is terminal and its
        log drained. Read with the job's logs token, as `get_logs` receives no secrets.
        """
        page = await self.api.get_log_page(
            resource_meta.job_id,
            logs_token=resource_meta.logs_token,
            page_token=token or None,
            limit=self.api.settings.log_page_size,
        )
        yield GetTaskLogsResponse(
            body=GetTaskLogsResponseBody(lines=[log_line(entry) for entry in page.lines])
        )
        if page.next_page_token:
            yield GetTaskLogsResponse(header=GetTaskLogsResponseHeader(token=page.next_page_token))

    async def get_metrics(self, resource_meta: BatchJobMetadata, **kwargs: Any) -> GetTaskMetricsResponse:
        """The job's CPU and memory over its run so far, paged from the service within one budget.

        `c0` hands `get_metrics` the metadata only (no secrets, and not the request's queries,
        time range or step), so the series is read with the logs token and both metrics are
        returned whole: at most 601 samples each (the service samples a long run sparsely).
        """
        settings = self.api.settings
        deadline = asyncio.get_running_loop().time() + settings.call_budget_seconds
        samples: list[UsageSample] = []
        token: str | None = None
        while True:
            page = await self.api.get_usage_page(
                resource_meta.job_id,
                logs_token=resource_meta.logs_token,
                page_token=token,
                limit=settings.usage_page_size,
                deadline=deadline,
            )
            samples.extend(page.samples)
            token = page.next_page_token
            if token is None or len(page.samples) < settings.usage_page_size:  # drained, or caught up
                return task_metrics(resource_meta.job_id, samples)

    def _log_link(self, meta: BatchJobMetadata) -> str:
        """The job's page on the dashboard when a public URL is set, else the API's log URL.

        The dashboard link carries the job's read-only logs token in its fragment, which a
        browser never sends to a server: the page reads the log and usage with it, nothing else.
        """
        public_url = self.api.settings.public_url
        if public_url is None:
            return self.api.logs_url(meta.job_id)
        job_page = f"{public_url.rstrip('/')}/ui/jobs/{quote(meta.job_id, safe='')}"
        return f"{job_page}#{urlencode({'logs_token': meta.logs_token})}"

    def _key(self, api_key: str | None) -> str | None:
        """The per-task secret when the task names one, else the connector's own key (or none)."""
        if api_key:
            return api_key
        configured = self.api.settings.api_key
        return configured.get_secret_value() if configured else None

    async def _authorized(self, api_key: str | None, call: Callable[[str | None], Awaitable[T]]) -> T:
        """Run `call` with the right key; on a 401 with no key at all, say where one should come from."""
        key = self._key(api_key)
        try:
            return await call(key)
        except BatchApiError as exc:
            if exc.status_code == 401 and key is None:
                raise MissingApiKey(
                    f"{exc} (no API key: name a per-task secret with BatchJobTask(api_key=<secret name>) "
                    "or set BATCH_API_KEY for the connector)"
                ) from exc
            raise


def register() -> None:
    """Register the connector once, however often this module is imported or reloaded.

    `ConnectorRegistry.register` raises on a second registration of a task type, and `c0`
    may import us twice (its entry point, then `--modules`), as may a reload. Also makes
    `c0` answer an unanswering service with UNAVAILABLE (`grpc_status.py`).
    """
    grpc_status.install()
    try:
        existing = ConnectorRegistry.get_connector(TASK_TYPE, BatchJobConnector.task_type_version)
    except ValueError:
        # Nobody serves batch_job yet. get_connector raises FlyteConnectorNotFound, which
        # flyte.connectors does not export; it subclasses ValueError, and
        # tests/connector/test_discovery.py fails if a new SDK ever stops raising a ValueError.
        ConnectorRegistry.register(BatchJobConnector())
        return
    if type(existing).__qualname__ != BatchJobConnector.__qualname__:
        logger.warning(f"task type {TASK_TYPE} is already served by {existing.name}; not registering ours")


register()
