"""1,000 jobs of 2 s submitted at once to a service with capacity 1,000: how long until a client
sees them all done?

Ideal: 2 s, every job starting the moment it is submitted and the client told at once.
Target: the makespan a client sees (first submit sent → first answer saying all are over,
`bench.makespan`) at most twice that. 3 rounds, each on a fresh service and database;
judged on their median.
"""

from __future__ import annotations

from bench.context import BenchContext
from bench.makespan import POLL_SECONDS, SUBMIT_CONNECTIONS, makespan_round
from bench.procs import run_batch_service
from bench.report import BenchResult, Check, median

NAME = "concurrent_jobs_makespan"
TITLE = "1,000 concurrent 2 s jobs, capacity 1,000"
TARGET_FACTOR = 2.0
ROUNDS = 3
DONE_TIMEOUT_SECONDS = 120.0
LOG_LINES = 10  # the API's default


async def run(ctx: BenchContext) -> BenchResult:
    jobs = ctx.size(1000, 20)
    duration = 2.0 if not ctx.smoke else 0.5
    rounds = []
    for index in range(ctx.size(ROUNDS, 1)):
        workdir = ctx.subdir(f"{NAME}-{index}")
        with run_batch_service(workdir, env={"BATCH_MAX_RUNNING": str(jobs)}) as service:
            figures = await makespan_round(
                [service], jobs=jobs, duration=duration, log_lines=LOG_LINES, done_within=DONE_TIMEOUT_SECONDS
            )
        rounds.append(figures)
    measured = median([row["client_seen_makespan_s"] for row in rounds])
    ratio = measured / duration
    return BenchResult(
        name=NAME,
        title=TITLE,
        unit="s makespan",
        measured=measured,
        baseline=duration,
        ratio=ratio,
        baseline_title="the ideal: one job's duration",
        checks=[Check("client-seen makespan / ideal", ratio, "<=", TARGET_FACTOR)],
        rounds=rounds,
        settings={
            "jobs": jobs,
            "duration_seconds": duration,
            "max_running": jobs,
            "submit_connections": SUBMIT_CONNECTIONS,
            "poll_seconds": POLL_SECONDS,
            "log_lines_per_job": LOG_LINES,
            "median_service_makespan_s": median([row["service_makespan_s"] for row in rounds]),
        },
        notes=[
            "makespan = first submit sent -> first /metrics answer with every job terminal, on the "
            f"client's clock (late by at most one {POLL_SECONDS} s poll); service_makespan_s (last "
            "finished_at - first created_at) is reported, not judged.",
        ],
        smoke=ctx.smoke,
    )
