"""1,000 jobs of 5 s with 20 lines each on two PostgreSQL replicas, capacity 1,000 (500 each).

The submits are shared evenly between the replicas, which share one queue; the client
counts the finished jobs through one of them. Target (issue #12): the makespan a client
sees at most 1.5x the job's duration; each replica's tick p50/p99 and peak RSS reported.
One round, as `jobs_10k_sqlite`.
"""

from __future__ import annotations

from contextlib import ExitStack

from bench.context import BenchContext
from bench.makespan import makespan_round
from bench.many_jobs import LOG_LINES, makespan_result
from bench.postgres import fresh_database
from bench.procs import run_batch_service
from bench.report import BenchResult

NAME = "jobs_1k_postgres_replicas"
TITLE = "1,000 concurrent 5 s jobs x 20 lines, 2 PostgreSQL replicas"
REPLICAS = 2
DONE_TIMEOUT_SECONDS = 300.0


async def run(ctx: BenchContext) -> BenchResult:
    jobs = ctx.size(1000, 20)
    duration = 5.0 if not ctx.smoke else 0.5
    per_replica = jobs // REPLICAS
    settings = {"BATCH_MAX_RUNNING": str(per_replica)}
    with fresh_database() as database_url, ExitStack() as stack:
        services = [
            stack.enter_context(
                run_batch_service(ctx.subdir(f"{NAME}-{index}"), database_url=database_url, env=settings)
            )
            for index in range(REPLICAS)
        ]
        figures = await makespan_round(
            services, jobs=jobs, duration=duration, log_lines=LOG_LINES, done_within=DONE_TIMEOUT_SECONDS
        )
    return makespan_result(
        NAME,
        TITLE,
        figures,
        jobs=jobs,
        duration=duration,
        settings={"replicas": REPLICAS, "max_running_per_replica": per_replica},
        smoke=ctx.smoke,
    )
