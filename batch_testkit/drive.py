"""Drive a running connector through one `batch_job` task, as the Flyte platform would.

    python -m batch_testkit.drive --connector 127.0.0.1:8000 --name hello

sends CreateTask with a serialized `batch_job` task template and literal inputs, polls
GetTask until the task is terminal (printing each phase change), reads the log with
GetTaskLogs page by page, and prints the outputs. `--cancel-after` (or Ctrl-C) sends
DeleteTask. A per-task key goes where the platform puts it, in `connection.secrets`.

`demo_task` and `ConnectorDriver` are the reusable parts: this project's end-to-end tests
and benchmarks drive `c0` through them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence

from flyte.connectors._grpc import grpc
from flyteidl2.core.execution_pb2 import TaskExecution

from batch_testkit.platform import (
    GrpcPlatform,
    execution_metadata,
    native_outputs,
    phase_name,
    serializable,
    task_inputs,
    task_template,
)
from my_connector.connector import TASK_TYPE
from my_connector.task import BatchJobConfig, BatchJobTask


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
    """A `BatchJobTask` taking `name: str`, ready to serialize."""
    task = BatchJobTask(
        name=name,
        plugin_config=config,
        inputs={"name": str},
        outputs={"result": str} if outputs is None else outputs,
        api_key=api_key_secret,
    )
    serializable(task)
    return task


class ConnectorDriver(GrpcPlatform):
    """The platform running `batch_job` tasks over one channel; `api_key` is the task's secret,
    sent in `connection.secrets` (without it the connector uses its own `BATCH_API_KEY`)."""

    def __init__(self, channel: grpc.aio.Channel, *, api_key: str | None = None) -> None:
        super().__init__(channel, task_type=TASK_TYPE, secrets={"api_key": api_key} if api_key else None)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m batch_testkit.drive",
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
        platform = ConnectorDriver(channel, api_key=api_key)
        meta = await platform.create(template, await task_inputs(task, name=args.name), execution=execution)
        print(f"created job {job_id_of(meta)}")
        waiting = asyncio.create_task(
            platform.wait(
                meta,
                poll_interval=args.poll_interval,
                on_phase=lambda r: print(f"phase {phase_name(r.phase)}: {r.message}"),
            )
        )
        try:
            resource = await asyncio.wait_for(asyncio.shield(waiting), args.cancel_after)
        except (TimeoutError, asyncio.CancelledError):
            print("cancelling: DeleteTask")
            await platform.delete(meta)
            resource = await waiting
        for link in resource.log_links:
            print(f"{link.name}: {link.uri}")
        logs = await platform.read_logs(meta)
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
