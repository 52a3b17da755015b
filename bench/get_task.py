"""GetTask throughput through `c0` + `BatchJobConnector` + the service, against a no-op connector.

One `c0` serves both `my_connector` (`batch_job`) and `bench.noop_connector` (`noop_job`,
and `http_noop_job` for reference), so all sides share the gRPC server, its logging and
its metrics; the difference is the batch connector's HTTP call to the service and the
service's work. The load is concurrent
async gRPC GetTask calls, as the platform polls: the `batch_job` side reads a real job,
created with CreateTask and RUNNING throughout, so every side answers RUNNING. Only a
real answer counts: RUNNING with the state read from the API in `custom_info` (the batch
connector's outage fallback also says RUNNING, with no state, and counts as a failure).
Target: at least half the no-op rate; and (issue #12) at least 0.9x of `http_noop_job`,
the no-op connector plus one pooled httpx GET of the bare app whose JSON it decodes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
from flyteidl2.connector.connector_pb2 import (
    CreateTaskRequest,
    GetTaskRequest,
    GetTaskResponse,
    TaskCategory,
)
from flyteidl2.connector.service_pb2_grpc import AsyncConnectorServiceStub
from flyteidl2.core.execution_pb2 import TaskExecution
from flyteidl2.core.security_pb2 import Connection

from batch_testkit.drive import demo_task, job_id_of
from batch_testkit.platform import task_inputs, task_template
from bench.context import BenchContext
from bench.loadgen import LoadResult, closed_loop
from bench.noop_connector import HTTP_TASK_TYPE, HttpNoopMetadata, NoopMetadata
from bench.noop_connector import TASK_TYPE as NOOP_TASK_TYPE
from bench.paired import Side, failures, median_of, median_rate, paired_rounds
from bench.procs import OWNER_KEY, run_baseline_app, run_batch_service, run_connector
from bench.report import BenchResult, Check
from my_connector.connector import TASK_TYPE as BATCH_TASK_TYPE
from my_connector.task import BatchJobConfig

NAME = "get_task_throughput"
TITLE = "GetTask via c0 + connector + service"
TARGET_RATIO = 0.5
TARGET_RATIO_TO_HTTP_NOOP = 0.9
CONCURRENCY = 32
RPC_TIMEOUT_SECONDS = 10.0
MODULES = ("my_connector", "bench.noop_connector")
LABELS = ("batch_job", "noop_job", "http_noop_job")
# Long enough to stay RUNNING for the whole benchmark.
RUNNING_JOB = BatchJobConfig(timeout_seconds=7200, duration_seconds=3600, log_lines=10)


def answered_running(response: GetTaskResponse) -> bool:
    """RUNNING as the service (or the baseline app) said it: `custom_info.state` is what was read.

    While the service does not answer, the batch connector still says RUNNING (its outage
    fallback, `my_connector/outage.py`), with `custom_info.state` null: that is no answer.
    """
    info = response.resource.custom_info
    return (
        response.resource.phase == TaskExecution.RUNNING
        and "state" in info.fields
        and info.fields["state"].WhichOneof("kind") == "string_value"
        and info.fields["state"].string_value == "RUNNING"
    )


async def _running_job(stub: AsyncConnectorServiceStub, connection: Connection) -> bytes:
    """CreateTask for a real `batch_job`; its resource meta, once GetTask says RUNNING."""
    task = demo_task(RUNNING_JOB, name="bench_get_task_job")
    request = CreateTaskRequest(
        template=task_template(task), inputs=await task_inputs(task, name="bench"), connection=connection
    )
    meta = bytes((await stub.CreateTask(request, timeout=RPC_TIMEOUT_SECONDS)).resource_meta)
    get = GetTaskRequest(
        resource_meta=meta, task_category=TaskCategory(name=BATCH_TASK_TYPE), connection=connection
    )
    for _ in range(100):
        if answered_running(await stub.GetTask(get, timeout=RPC_TIMEOUT_SECONDS)):
            return meta
        await asyncio.sleep(0.1)
    raise RuntimeError("the benchmark's batch job never reached RUNNING")


def get_task_load(
    stub: AsyncConnectorServiceStub, request: GetTaskRequest
) -> Callable[[int], Awaitable[LoadResult]]:
    async def one() -> bool:
        return answered_running(await stub.GetTask(request, timeout=RPC_TIMEOUT_SECONDS))

    return lambda seconds: closed_loop(one, concurrency=CONCURRENCY, seconds=seconds, generator="grpc.aio")


async def run(ctx: BenchContext) -> BenchResult:
    workdir = ctx.subdir(NAME)
    with (
        run_batch_service(workdir) as service,
        run_baseline_app(workdir) as bare,
        run_connector(workdir, api_url=service.url, modules=MODULES) as c0,
    ):
        servers = {"c0": c0.server, "service": service.server, "bare": bare.server}
        async with grpc.aio.insecure_channel(c0.address) as channel:
            stub = AsyncConnectorServiceStub(channel)
            connection = Connection(secrets={"api_key": OWNER_KEY})  # where the platform puts a task's key
            meta = await _running_job(stub, connection)
            batch = GetTaskRequest(
                resource_meta=meta, task_category=TaskCategory(name=BATCH_TASK_TYPE), connection=connection
            )
            job_id = job_id_of(meta)
            noop = GetTaskRequest(
                resource_meta=NoopMetadata(job_id=job_id).encode(),
                task_category=TaskCategory(name=NOOP_TASK_TYPE),
                connection=connection,
            )
            bare_running_job = f"{bare.url}/running/v1/jobs/{job_id}"
            http_noop = GetTaskRequest(
                resource_meta=HttpNoopMetadata(job_id=job_id, url=bare_running_job).encode(),
                task_category=TaskCategory(name=HTTP_TASK_TYPE),
                connection=connection,
            )
            rounds = await paired_rounds(
                Side("batch_job", servers, get_task_load(stub, batch)),
                Side("noop_job", servers, get_task_load(stub, noop)),
                Side("http_noop_job", servers, get_task_load(stub, http_noop)),
                rounds=ctx.rounds,
                seconds=ctx.seconds,
            )
    measured, reference = median_rate(rounds, "batch_job"), median_rate(rounds, "noop_job")
    ratio = measured / reference
    ratio_to_http_noop = measured / median_rate(rounds, "http_noop_job")
    return BenchResult(
        name=NAME,
        title=TITLE,
        unit="calls/s",
        measured=measured,
        baseline=reference,
        ratio=ratio,
        baseline_title="no-op connector in the same c0",
        checks=[
            Check("ratio to no-op connector", ratio, ">=", TARGET_RATIO),
            Check("ratio to http_noop_job", ratio_to_http_noop, ">=", TARGET_RATIO_TO_HTTP_NOOP),
        ],
        rounds=rounds,
        settings={
            "concurrency": CONCURRENCY,
            "seconds_per_round": ctx.seconds,
            "generator": "grpc.aio closed loop in the bench process",
            "c0_modules": list(MODULES),
            "median_rate": {label: median_rate(rounds, label) for label in LABELS},
            "median_c0_cpu_ms_per_call": {
                label: median_of(rounds, label, "c0_cpu_ms_per_request") for label in LABELS
            },
            "median_service_cpu_ms_per_call": median_of(rounds, "batch_job", "service_cpu_ms_per_request"),
            "failed_calls": {label: failures(rounds, label) for label in LABELS},
        },
        notes=[
            "The load generator is Python and shares the 2 cores with c0 and the service; "
            "loadgen_cpu in each round shows its share.",
            "http_noop_job: the no-op connector plus one pooled httpx GET of the bare baseline app, "
            "its JSON decoded for the state: the floor for a connector that asks an HTTP API.",
            "A call counts only when it answers RUNNING with custom_info.state 'RUNNING' (read from "
            "the API); the batch connector's outage fallback (state null) counts as failed.",
        ],
        smoke=ctx.smoke,
    )
