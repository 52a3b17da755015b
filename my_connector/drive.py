"""Drive a running connector the way the Flyte platform does, without a Flyte cluster.

    python -m my_connector.drive --connector 127.0.0.1:8000 --name hello

sends CreateTask with a serialized `batch_job` task template and literal inputs, polls
GetTask until the task is terminal (printing each phase change), reads the log with
GetTaskLogs page by page, and prints the outputs. `--cancel-after` (or Ctrl-C) sends
DeleteTask. A per-task key goes where the platform puts it, in `connection.secrets`.

`ConnectorDriver` is the reusable part: the end-to-end tests drive `c0` through it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import flyte
from flyte._internal.runtime.convert import Outputs, convert_from_native_to_inputs, convert_outputs_to_native
from flyte._internal.runtime.task_serde import get_proto_task
from flyte.connectors._grpc import grpc
from flyte.models import SerializationContext
from flyteidl2.connector import connector_pb2
from flyteidl2.connector.service_pb2_grpc import AsyncConnectorServiceStub
from flyteidl2.core import identifier_pb2, security_pb2, tasks_pb2
from flyteidl2.core.execution_pb2 import TaskExecution
from flyteidl2.logs.dataplane.payload_pb2 import LogLine
from flyteidl2.task import common_pb2

from my_connector.connector import TASK_TYPE
from my_connector.phases import TERMINAL_PHASES
from my_connector.task import BatchJobConfig, BatchJobTask

CATEGORY = connector_pb2.TaskCategory(name=TASK_TYPE, version=0)
SERIALIZATION = SerializationContext(project="drive", domain="development", org="local", version="drive")


def phase_name(phase: TaskExecution.Phase) -> str:
    return TaskExecution.Phase.Name(phase)


def job_id_of(resource_meta: bytes) -> str:
    """The job id inside an (opaque to the platform) resource meta; the logs token is not shown."""
    return str(json.loads(resource_meta)["job_id"])


def demo_task(
    config: BatchJobConfig,
    *,
    name: str = "drive_batch_job",
    outputs: dict[str, type] | None = None,
    api_key_secret: str | None = None,
) -> BatchJobTask:
    """A `BatchJobTask` taking `name: str`, in its own environment so it can be serialized."""
    task = BatchJobTask(
        name=name,
        plugin_config=config,
        inputs={"name": str},
        outputs={"result": str} if outputs is None else outputs,
        api_key=api_key_secret,
    )
    flyte.TaskEnvironment.from_task(f"{name}-env", task)  # serializing needs an environment name
    return task


def task_template(task: BatchJobTask) -> tasks_pb2.TaskTemplate:
    """The task template the platform would send, serialized by the SDK itself."""
    return get_proto_task(task, SERIALIZATION)


async def task_inputs(task: BatchJobTask, **values: object) -> common_pb2.Inputs:
    """Native inputs as the literal `Inputs` the platform sends."""
    return (await convert_from_native_to_inputs(task.native_interface, **values)).proto_inputs


async def native_outputs(task: BatchJobTask, outputs: common_pb2.Outputs) -> dict[str, object]:
    """Output literals back as Python values, by the task's declared output names."""
    values = await convert_outputs_to_native(task.native_interface, Outputs(proto_outputs=outputs))
    names = list(task.native_interface.outputs)
    if len(names) == 1:
        return {names[0]: values}
    return dict(zip(names, values or (), strict=True))


def execution_metadata(
    template: tasks_pb2.TaskTemplate, run_name: str, attempt: int = 0
) -> connector_pb2.TaskExecutionMetadata:
    """What the platform says about the execution: the same run and attempt mean the same job."""
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


class ConnectorDriver:
    """The platform's side of `AsyncConnectorService`, over one gRPC channel."""

    def __init__(self, channel: grpc.aio.Channel, *, api_key: str | None = None) -> None:
        self._stub = AsyncConnectorServiceStub(channel)
        self._connection = security_pb2.Connection(secrets={"api_key": api_key} if api_key else {})

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
            resource_meta=resource_meta, task_category=CATEGORY, connection=self._connection
        )
        return (await self._stub.GetTask(request)).resource

    async def delete(self, resource_meta: bytes) -> None:
        request = connector_pb2.DeleteTaskRequest(
            resource_meta=resource_meta, task_category=CATEGORY, connection=self._connection
        )
        await self._stub.DeleteTask(request)

    async def metrics(self, resource_meta: bytes) -> connector_pb2.GetTaskMetricsResponse:
        request = connector_pb2.GetTaskMetricsRequest(resource_meta=resource_meta, task_category=CATEGORY)
        return await self._stub.GetTaskMetrics(request)

    async def log_page(self, resource_meta: bytes, token: str = "") -> tuple[list[LogLine], str]:
        """One GetTaskLogs call: its lines, and the token for the next call ("" when there is none)."""
        request = connector_pb2.GetTaskLogsRequest(
            resource_meta=resource_meta, token=token, task_category=CATEGORY
        )
        lines: list[LogLine] = []
        next_token = ""
        async for response in self._stub.GetTaskLogs(request):
            if response.WhichOneof("part") == "body":
                lines.extend(response.body.lines)
            elif response.WhichOneof("part") == "header":
                next_token = response.header.token
        return lines, next_token

    async def read_logs(self, resource_meta: bytes, *, pause: float = 0.2) -> LogRead:
        """Call GetTaskLogs with each returned token until a call returns none, as the platform does."""
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
        """GetTask until the phase is terminal; `on_phase` hears each change of phase."""
        last: TaskExecution.Phase | None = None
        while True:
            resource = await self.get(resource_meta)
            if resource.phase != last and on_phase is not None:
                on_phase(resource)
            last = resource.phase
            if resource.phase in TERMINAL_PHASES:
                return resource
            await asyncio.sleep(poll_interval)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m my_connector.drive",
        description="Run one batch_job task through a running connector, as the Flyte platform would.",
    )
    parser.add_argument("--connector", default="127.0.0.1:8000", help="host:port of the connector (c0)")
    parser.add_argument("--name", required=True, help="the task's `name` input")
    parser.add_argument("--duration", type=float, default=2.0, help="simulated job run time, seconds")
    parser.add_argument("--log-lines", type=int, default=20, help="log lines the job writes")
    parser.add_argument("--timeout", type=int, default=300, help="job timeout, seconds")
    parser.add_argument("--fail-message", help="make the job fail with this error")
    parser.add_argument(
        "--label", action="append", default=[], metavar="KEY=VALUE", help="job label (repeatable)"
    )
    parser.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="send $VAR as the task's `api_key` secret, as the platform does for BatchJobTask(api_key=...); "
        "without it the connector uses its own BATCH_API_KEY",
    )
    parser.add_argument("--run-name", help="execution id: the same run name and attempt replay the same job")
    parser.add_argument("--attempt", type=int, default=0, help="retry attempt, with --run-name")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds between GetTask calls")
    parser.add_argument("--cancel-after", type=float, help="send DeleteTask after this many seconds")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> int:
    api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
    if args.api_key_env and not api_key:
        print(f"environment variable {args.api_key_env} is not set", file=sys.stderr)
        return 2
    labels = dict(label.split("=", 1) for label in args.label)
    config = BatchJobConfig(
        timeout_seconds=args.timeout,
        duration_seconds=args.duration,
        log_lines=args.log_lines,
        labels=labels,
        fail_message=args.fail_message,
    )
    task = demo_task(config, api_key_secret="api-key" if api_key else None)
    template = task_template(task)
    execution = execution_metadata(template, args.run_name, args.attempt) if args.run_name else None

    async with grpc.aio.insecure_channel(args.connector) as channel:
        driver = ConnectorDriver(channel, api_key=api_key)
        meta = await driver.create(template, await task_inputs(task, name=args.name), execution=execution)
        print(f"created job {job_id_of(meta)}")
        waiting = asyncio.create_task(
            driver.wait(
                meta,
                poll_interval=args.poll_interval,
                on_phase=lambda r: print(f"phase {phase_name(r.phase)}: {r.message}"),
            )
        )
        try:
            resource = await asyncio.wait_for(asyncio.shield(waiting), args.cancel_after)
        except (TimeoutError, asyncio.CancelledError):
            print("cancelling: DeleteTask")
            await driver.delete(meta)
            resource = await waiting
        for link in resource.log_links:
            print(f"{link.name}: {link.uri}")
        logs = await driver.read_logs(meta)
        print(f"logs ({len(logs.lines)} lines in {logs.pages} GetTaskLogs pages):")
        for line in logs.lines:
            print(f"  {line.timestamp.ToJsonString()} {line.message}")
        if resource.phase == TaskExecution.SUCCEEDED:
            print(f"outputs: {json.dumps(await native_outputs(task, resource.outputs))}")
            return 0
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except grpc.aio.AioRpcError as exc:
        print(f"connector answered {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
