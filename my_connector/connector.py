"""The `batch_job` connector: Flyte's create / get / delete / get_logs on top of the batch API.

Flyte (or `c0`, or a local `flyte.run`) calls these four methods; each turns into one or
two calls of `BatchApiClient`. What the connector adds to the client is the Flyte side:
the job spec from the task template, an idempotency key from the task execution, the
job state → task phase table, outputs under the task's declared names, and log pages as
`LogLine`s. State it must keep between calls lives in `BatchJobMetadata`, which the
platform stores and hands back; it holds the job-scoped logs token, never a user's key.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flyte import logger
from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from flyteidl2.connector.connector_pb2 import (
    GetTaskLogsResponse,
    GetTaskLogsResponseBody,
    GetTaskLogsResponseHeader,
    TaskExecutionMetadata,
)
from flyteidl2.core.execution_pb2 import TaskExecution, TaskLog
from flyteidl2.core.tasks_pb2 import TaskTemplate
from flyteidl2.logs.dataplane.payload_pb2 import LogLine, LogLineOriginator
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic_core import PydanticSerializationError, to_jsonable_python

from my_connector.api import (
    BatchApiError,
    BatchJob,
    BatchServiceUnavailable,
    JobNotFound,
    JobRequest,
    LogEntry,
)
from my_connector.client import BatchApiClient
from my_connector.settings import ConnectorSettings

T = TypeVar("T")

TASK_TYPE = "batch_job"
MAX_JOB_NAME = 200
# How many jobs' last phases to remember for riding out an outage; a job leaves when terminal.
LAST_PHASES_KEPT = 10_000


@dataclass
class BatchJobMetadata(ResourceMeta):
    """What the platform keeps for a job between calls: ids only, JSON-encodable, no keys.

    `logs_token` is the job-scoped, read-only token from the create response: `get_logs`
    receives no secrets, so it is the only way to read the job's log. `output_names` are
    the task interface's outputs, because `get` no longer sees the task template.
    The service URL is deliberately not kept: the connector only ever sends keys to the
    service it is configured for, whatever a stored metadata blob says.
    """

    job_id: str
    logs_token: str
    output_names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PhaseRule:
    phase: TaskExecution.Phase
    message: Callable[[BatchJob], str]


# The one place job states become task phases. SUCCEEDED may still turn into FAILED when
# the job lacks a declared output (see `job_resource`).
STATE_PHASES: Mapping[str, PhaseRule] = {
    "QUEUED": PhaseRule(TaskExecution.QUEUED, lambda job: f"job {job.id} queued"),
    "RUNNING": PhaseRule(
        TaskExecution.RUNNING, lambda job: f"job {job.id} running ({job.log_line_count} log lines so far)"
    ),
    "SUCCEEDED": PhaseRule(TaskExecution.SUCCEEDED, lambda job: f"job {job.id} succeeded"),
    "FAILED": PhaseRule(
        TaskExecution.FAILED, lambda job: f"job {job.id} failed: {job.error or 'no error given'}"
    ),
    "TIMED_OUT": PhaseRule(
        TaskExecution.FAILED, lambda job: f"job {job.id} timed out after {job.spec.timeout_seconds} s"
    ),
    "CANCELLED": PhaseRule(TaskExecution.ABORTED, lambda job: f"job {job.id} cancelled"),
}

TERMINAL_PHASES = frozenset({TaskExecution.SUCCEEDED, TaskExecution.FAILED, TaskExecution.ABORTED})


class MissingApiKey(RuntimeError):
    """The service wants a key, and neither a per-task `api_key` secret nor `BATCH_API_KEY` gave one."""


def job_resource(job: BatchJob, output_names: list[str], log_links: list[TaskLog]) -> Resource:
    """The `Resource` Flyte sees for `job`; outputs are picked by the task's declared names."""
    rule = STATE_PHASES.get(job.state)
    if rule is None:
        raise BatchApiError(f"batch API reported unknown state {job.state!r} for job {job.id}")
    if rule.phase != TaskExecution.SUCCEEDED:
        return Resource(phase=rule.phase, message=rule.message(job), log_links=log_links)
    produced = job.outputs or {}
    missing = [name for name in output_names if name not in produced]
    if missing:
        return Resource(
            phase=TaskExecution.FAILED,
            message=(
                f"job {job.id} succeeded without the declared output(s) {', '.join(missing)}; "
                f"it returned: {', '.join(sorted(produced)) or 'no outputs'}"
            ),
            log_links=log_links,
        )
    outputs = {name: produced[name] for name in output_names}
    return Resource(phase=rule.phase, message=rule.message(job), log_links=log_links, outputs=outputs or None)


def idempotency_key(metadata: TaskExecutionMetadata | None) -> str:
    """One key per task execution attempt, so a re-sent CreateTask finds the job it already made.

    Without an execution id (a local run) the key is random: it still makes this create
    call's own retries safe, which is all a local run needs.
    """
    if metadata is None or not metadata.HasField("task_execution_id"):
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
    it is imported.
    """

    name = "Batch Job Connector"
    task_type_name = TASK_TYPE
    metadata_type = BatchJobMetadata

    def __init__(self, api: BatchApiClient | None = None) -> None:
        self._api = api
        self._last_phases: OrderedDict[str, TaskExecution.Phase] = OrderedDict()

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
        spec = job_request(task_template, inputs)
        key = idempotency_key(task_execution_metadata)
        job = await self._authorized(
            api_key, lambda bearer: self.api.submit_job(spec, api_key=bearer, idempotency_key=key)
        )
        logger.info(f"batch job {job.id} submitted for task {spec.name} ({job.state})")
        output_names = [entry.key for entry in task_template.interface.outputs.variables]
        return BatchJobMetadata(job_id=job.id, logs_token=job.logs_token, output_names=output_names)

    async def get(
        self, resource_meta: BatchJobMetadata, api_key: str | None = None, **kwargs: Any
    ) -> Resource:
        """The job's phase. An outage is not a failure: it reports the last phase seen, or RUNNING."""
        job_id = resource_meta.job_id
        log_links = [TaskLog(name="Batch job logs", uri=self.api.logs_url(job_id), ready=True)]
        try:
            job = await self._authorized(api_key, lambda bearer: self.api.get_job(job_id, api_key=bearer))
        except BatchServiceUnavailable as exc:
            phase = self._last_phases.get(job_id, TaskExecution.RUNNING)
            logger.warning(f"batch job {job_id}: service unavailable, reporting last known phase: {exc}")
            return Resource(
                phase=phase, message=f"batch service unavailable, will ask again: {exc}", log_links=log_links
            )
        except JobNotFound:
            return Resource(
                phase=TaskExecution.FAILED,
                message=f"job {job_id} not found: it does not exist or belongs to another API key's owner",
            )
        resource = job_resource(job, resource_meta.output_names, log_links)
        self._remember(job_id, resource.phase)
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

    def _remember(self, job_id: str, phase: TaskExecution.Phase) -> None:
        if phase in TERMINAL_PHASES:
            self._last_phases.pop(job_id, None)
            return
        self._last_phases[job_id] = phase
        self._last_phases.move_to_end(job_id)
        while len(self._last_phases) > LAST_PHASES_KEPT:
            self._last_phases.popitem(last=False)


def register() -> None:
    """Register the connector once, however often this module is imported or reloaded.

    `ConnectorRegistry.register` raises on a second registration of a task type, and `c0`
    may import us twice (its entry point, then `--modules`), as may a reload.
    """
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
