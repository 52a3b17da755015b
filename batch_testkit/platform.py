"""A stand-in for the Flyte platform: drive any `AsyncConnector` the way Flyte does.

The platform serializes a task template, sends CreateTask with literal inputs and the task
execution's ids, calls GetTask until the phase is terminal, pages GetTaskLogs with the
tokens it is handed, and sends DeleteTask to abort. Two drivers do that here, with one
interface, so a test can run the same story both ways:

* `GrpcPlatform`: over gRPC against a running `c0` (or any connector server);
* `InProcessPlatform`: against a connector object in the test's own process, converting
  inputs, metadata and resources exactly as `c0` does (`flyte.connectors._server`).

The Flyte SDK has no public API for building task templates, literal inputs or resource
protos outside a run, so this module uses its private ones; they stay here, in the test
kit, and out of the shipped connector.
"""

from __future__ import annotations

import asyncio
import inspect
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from flyte import TaskEnvironment
from flyte._internal.runtime.convert import (
    Inputs,
    Outputs,
    convert_from_inputs_to_native,
    convert_from_native_to_inputs,
    convert_outputs_to_native,
)
from flyte._internal.runtime.task_serde import get_proto_task
from flyte._task import TaskTemplate as FlyteTask
from flyte.connectors import AsyncConnector
from flyte.connectors._connector import get_resource_proto
from flyte.connectors._grpc import grpc
from flyte.models import NativeInterface, SerializationContext
from flyte.types import TypeEngine
from flyteidl2.connector import connector_pb2
from flyteidl2.connector.service_pb2_grpc import AsyncConnectorServiceStub
from flyteidl2.core import identifier_pb2, security_pb2, tasks_pb2
from flyteidl2.core.execution_pb2 import TaskExecution
from flyteidl2.logs.dataplane.payload_pb2 import LogLine
from flyteidl2.task import common_pb2

# The end of one attempt for the platform. RETRYABLE_FAILED ends an attempt too (the platform
# then starts another within the task's retries); the SDK's local loop does not know it.
PLATFORM_TERMINAL_PHASES = frozenset(
    {TaskExecution.SUCCEEDED, TaskExecution.FAILED, TaskExecution.ABORTED, TaskExecution.RETRYABLE_FAILED}
)
SERIALIZATION = SerializationContext(project="testkit", domain="development", org="local", version="testkit")


def phase_name(phase: TaskExecution.Phase) -> str:
    return TaskExecution.Phase.Name(phase)


def serializable(task: FlyteTask, environment: str | None = None) -> FlyteTask:
    """Put `task` in an environment of its own, which serializing a template needs."""
    TaskEnvironment.from_task(environment or f"{task.name}-env", task)
    return task


def task_template(task: FlyteTask) -> tasks_pb2.TaskTemplate:
    """The task template the platform would send, serialized by the SDK itself."""
    return get_proto_task(task, SERIALIZATION)


async def task_inputs(task: FlyteTask, **values: object) -> common_pb2.Inputs:
    """Native inputs as the literal `Inputs` the platform sends."""
    return (await convert_from_native_to_inputs(task.native_interface, **values)).proto_inputs


async def native_outputs(task: FlyteTask, outputs: common_pb2.Outputs) -> dict[str, object]:
    """Output literals back as Python values, by the task's declared output names."""
    values = await convert_outputs_to_native(task.native_interface, Outputs(proto_outputs=outputs))
    names = list(task.native_interface.outputs)
    if len(names) == 1:
        return {names[0]: values}
    return dict(zip(names, values or (), strict=True))


def execution_metadata(
    template: tasks_pb2.TaskTemplate, run_name: str, attempt: int = 0
) -> connector_pb2.TaskExecutionMetadata:
    """What the platform says about the execution: the same run and attempt are the same task."""
    run = identifier_pb2.WorkflowExecutionIdentifier(
        project=template.id.project, domain=template.id.domain, name=run_name, org=template.id.org
    )
    return connector_pb2.TaskExecutionMetadata(
        task_execution_id=identifier_pb2.TaskExecutionIdentifier(
            task_id=template.id,
            node_execution_id=identifier_pb2.NodeExecutionIdentifier(node_id="a0", execution_id=run),
            retry_attempt=attempt,
        )
    )


@dataclass
class LogRead:
    lines: list[LogLine] = field(default_factory=list)
    pages: int = 0


class Platform(ABC):
    """The four calls the platform makes, and its two loops on top of them.
    `resource_meta` is the opaque bytes the platform stores between calls."""

    @abstractmethod
    async def create(
        self,
        template: tasks_pb2.TaskTemplate,
        inputs: common_pb2.Inputs,
        *,
        execution: connector_pb2.TaskExecutionMetadata | None = None,
    ) -> bytes: ...

    @abstractmethod
    async def get(self, resource_meta: bytes) -> connector_pb2.Resource: ...

    @abstractmethod
    async def delete(self, resource_meta: bytes) -> None: ...

    @abstractmethod
    async def metrics(self, resource_meta: bytes) -> connector_pb2.GetTaskMetricsResponse: ...

    @abstractmethod
    async def log_page(self, resource_meta: bytes, token: str = "") -> tuple[list[LogLine], str]:
        """One GetTaskLogs call: its lines, and the token for the next call ("" when there is none)."""

    async def read_logs(self, resource_meta: bytes, *, pause: float = 0.2) -> LogRead:
        """GetTaskLogs with each returned token until a call returns none, as the platform does."""
        read = LogRead()
        token = ""
        while True:
            lines, token = await self.log_page(resource_meta, token)
            read.lines.extend(lines)
            read.pages += 1
            if not token:
                return read
            if not lines:  # caught up with a running job: give it time to write more
                await asyncio.sleep(pause)

    async def wait(
        self,
        resource_meta: bytes,
        *,
        poll_interval: float = 0.5,
        on_phase: Callable[[connector_pb2.Resource], None] | None = None,
    ) -> connector_pb2.Resource:
        """GetTask until the attempt is over; `on_phase` hears each change of phase."""
        last: TaskExecution.Phase | None = None
        while True:
            resource = await self.get(resource_meta)
            if resource.phase != last and on_phase is not None:
                on_phase(resource)
            last = resource.phase
            if resource.phase in PLATFORM_TERMINAL_PHASES:
                return resource
            await asyncio.sleep(poll_interval)


class GrpcPlatform(Platform):
    """The platform's side of `AsyncConnectorService`, over one gRPC channel.

    `secrets` travel in `connection.secrets`, where the platform puts a task's secrets.
    `task_type` names the connector for the calls after create (the platform keeps it
    from the template).
    """

    def __init__(
        self, channel: grpc.aio.Channel, *, task_type: str, secrets: Mapping[str, str] | None = None
    ) -> None:
        self._stub = AsyncConnectorServiceStub(channel)
        self._connection = security_pb2.Connection(secrets=dict(secrets or {}))
        self._category = connector_pb2.TaskCategory(name=task_type, version=0)

    async def create(
        self,
        template: tasks_pb2.TaskTemplate,
        inputs: common_pb2.Inputs,
        *,
        execution: connector_pb2.TaskExecutionMetadata | None = None,
    ) -> bytes:
        request = connector_pb2.CreateTaskRequest(
            template=template, inputs=inputs, task_execution_metadata=execution, connection=self._connection
        )
        return bytes((await self._stub.CreateTask(request)).resource_meta)

    async def get(self, resource_meta: bytes) -> connector_pb2.Resource:
        request = connector_pb2.GetTaskRequest(
            resource_meta=resource_meta, task_category=self._category, connection=self._connection
        )
        return (await self._stub.GetTask(request)).resource

    async def delete(self, resource_meta: bytes) -> None:
        request = connector_pb2.DeleteTaskRequest(
            resource_meta=resource_meta, task_category=self._category, connection=self._connection
        )
        await self._stub.DeleteTask(request)

    async def metrics(self, resource_meta: bytes) -> connector_pb2.GetTaskMetricsResponse:
        request = connector_pb2.GetTaskMetricsRequest(
            resource_meta=resource_meta, task_category=self._category
        )
        return await self._stub.GetTaskMetrics(request)

    async def log_page(self, resource_meta: bytes, token: str = "") -> tuple[list[LogLine], str]:
        request = connector_pb2.GetTaskLogsRequest(
            resource_meta=resource_meta, token=token, task_category=self._category
        )
        return await _collect_log_page(self._stub.GetTaskLogs(request))


class InProcessPlatform(Platform):
    """The same calls made on a connector object directly, converted as `c0` converts them:
    literal inputs to native values, metadata encoded and decoded, resources to protos."""

    def __init__(self, connector: AsyncConnector[Any], *, secrets: Mapping[str, str] | None = None) -> None:
        self.connector = connector
        self._secrets = dict(secrets or {})

    async def create(
        self,
        template: tasks_pb2.TaskTemplate,
        inputs: common_pb2.Inputs,
        *,
        execution: connector_pb2.TaskExecutionMetadata | None = None,
    ) -> bytes:
        types = {
            entry.key: (TypeEngine.guess_python_type(entry.value.type), inspect.Parameter.empty)
            for entry in template.interface.inputs.variables
        }
        interface = NativeInterface.from_types(inputs=types, outputs={})
        native = await convert_from_inputs_to_native(interface, Inputs(proto_inputs=inputs))
        meta = await self.connector.create(
            task_template=template,
            inputs=native,
            output_prefix="",
            task_execution_metadata=execution or connector_pb2.TaskExecutionMetadata(),
            **self._secrets,
        )
        return meta.encode()

    def _decode(self, resource_meta: bytes) -> Any:
        return self.connector.metadata_type.decode(resource_meta)

    async def get(self, resource_meta: bytes) -> connector_pb2.Resource:
        resource = await self.connector.get(resource_meta=self._decode(resource_meta), **self._secrets)
        return await get_resource_proto(resource)

    async def delete(self, resource_meta: bytes) -> None:
        await self.connector.delete(resource_meta=self._decode(resource_meta), **self._secrets)

    async def metrics(self, resource_meta: bytes) -> connector_pb2.GetTaskMetricsResponse:
        return await self.connector.get_metrics(resource_meta=self._decode(resource_meta))

    async def log_page(self, resource_meta: bytes, token: str = "") -> tuple[list[LogLine], str]:
        result = self.connector.get_logs(resource_meta=self._decode(resource_meta), token=token)
        if inspect.isasyncgen(result):
            return await _collect_log_page(result)
        return await _collect_log_page(_one(await cast(Any, result)))


async def _one(
    response: connector_pb2.GetTaskLogsResponse,
) -> AsyncIterator[connector_pb2.GetTaskLogsResponse]:
    yield response


async def _collect_log_page(
    responses: AsyncIterator[connector_pb2.GetTaskLogsResponse],
) -> tuple[list[LogLine], str]:
    lines: list[LogLine] = []
    next_token = ""
    async for response in responses:
        if response.WhichOneof("part") == "body":
            lines.extend(response.body.lines)
        elif response.WhichOneof("part") == "header":
            next_token = response.header.token
    return lines, next_token
