"""The connector's HTTP client stack against httpx's own transport, inside `c0`.

Why the connector uses `httpx-aiohttp`: every GetTask is one HTTP GET, and inside `c0`
httpx's own transport (httpcore over anyio) cost 1.5-2.2 ms of CPU per request on the
machines here, more than the rest of the call. Three no-op connectors in one `c0` GET the
same running job from the bare app and decode its JSON: `http_noop_job` with the
connector's stack (`my_connector.client`: aiohttp's transport, every pooled connection
kept alive), `httpx_noop_job` with httpx as it comes (20 kept alive of 100), and
`httpx_keepalive_noop_job` with httpx's transport and the connector's pool, which
separates the two changes. Judged on `c0`'s CPU per call, which other load on the machine
disturbs far less than calls per second: the connector's stack must cost no more than
httpx's defaults, or it is not worth a dependency.
"""

from __future__ import annotations

import grpc
from flyteidl2.connector.connector_pb2 import GetTaskRequest, TaskCategory
from flyteidl2.connector.service_pb2_grpc import AsyncConnectorServiceStub
from flyteidl2.core.security_pb2 import Connection

from bench.context import BenchContext
from bench.get_task import CONCURRENCY, get_task_load
from bench.noop_connector import HTTP_TASK_TYPE, HTTPX_KEEPALIVE_TASK_TYPE, HTTPX_TASK_TYPE, HttpNoopMetadata
from bench.paired import Side, failures, median_of, median_rate, paired_rounds
from bench.procs import OWNER_KEY, run_baseline_app, run_connector
from bench.report import BenchResult, Check

NAME = "http_transports"
TITLE = "c0 CPU per GET: the connector's HTTP stack vs httpx's"
TARGET_CPU_RATIO = 1.0
LABELS = (HTTP_TASK_TYPE, HTTPX_TASK_TYPE, HTTPX_KEEPALIVE_TASK_TYPE)
JOB_ID = "job-000000000000000000000000"


async def run(ctx: BenchContext) -> BenchResult:
    workdir = ctx.subdir(NAME)
    with (
        run_baseline_app(workdir) as bare,
        run_connector(workdir, api_url=bare.url, modules=("bench.noop_connector",)) as c0,
    ):
        servers = {"c0": c0.server, "bare": bare.server}
        meta = HttpNoopMetadata(job_id=JOB_ID, url=f"{bare.url}/running/v1/jobs/{JOB_ID}").encode()
        connection = Connection(secrets={"api_key": OWNER_KEY})
        async with grpc.aio.insecure_channel(c0.address) as channel:
            stub = AsyncConnectorServiceStub(channel)
            sides = [
                Side(
                    label,
                    servers,
                    get_task_load(
                        stub,
                        GetTaskRequest(
                            resource_meta=meta, task_category=TaskCategory(name=label), connection=connection
                        ),
                    ),
                )
                for label in LABELS
            ]
            rounds = await paired_rounds(*sides, rounds=ctx.rounds, seconds=ctx.seconds)
    cpu = {label: median_of(rounds, label, "c0_cpu_ms_per_request") for label in LABELS}
    measured, reference = cpu[HTTP_TASK_TYPE], cpu[HTTPX_TASK_TYPE]
    if measured is None or reference is None:
        raise RuntimeError(f"no calls succeeded: {cpu}")
    return BenchResult(
        name=NAME,
        title=TITLE,
        unit="c0 CPU ms/call",
        measured=measured,
        baseline=reference,
        ratio=measured / reference,
        baseline_title="httpx's own transport, default pool (httpx_noop_job)",
        checks=[Check("c0 CPU per call, stack / httpx", measured / reference, "<=", TARGET_CPU_RATIO)],
        rounds=rounds,
        settings={
            "concurrency": CONCURRENCY,
            "seconds_per_round": ctx.seconds,
            "median_c0_cpu_ms_per_call": cpu,
            "median_rate": {label: median_rate(rounds, label) for label in LABELS},
            "failed_calls": {label: failures(rounds, label) for label in LABELS},
        },
        notes=["Lower is better here: the figure is c0's CPU milliseconds per GetTask, not a rate."],
        smoke=ctx.smoke,
    )
