"""10,000 jobs of 5 s with 20 lines each, submitted at once, capacity 10,000, one SQLite process.

Target (issue #12): the makespan a client sees (`bench.makespan`) at most 1.5x the job's
duration. Reported beside it: the scheduler's tick p50/p99 over the round (each tick
writes every running job's due lines and finishes what is over), the service's peak RSS,
and where the time went (the submit window is part of the makespan: a client cannot see
a job done before it could submit it). One round: a round is about a minute of the whole
machine, and the figures are per tick and per job, thousands of each.
"""

from __future__ import annotations

from bench.context import BenchContext
from bench.makespan import POLL_SECONDS, SUBMIT_CONNECTIONS, makespan_round
from bench.procs import run_batch_service
from bench.report import BenchResult, Check

NAME = "jobs_10k_sqlite"
TITLE = "10,000 concurrent 5 s jobs x 20 lines, SQLite"
TARGET_FACTOR = 1.5
DONE_TIMEOUT_SECONDS = 300.0
LOG_LINES = 20


async def run(ctx: BenchContext) -> BenchResult:
    jobs = ctx.size(10_000, 50)
    duration = 5.0 if not ctx.smoke else 0.5
    with run_batch_service(ctx.subdir(NAME), env={"BATCH_MAX_RUNNING": str(jobs)}) as service:
        figures = await makespan_round(
            [service], jobs=jobs, duration=duration, log_lines=LOG_LINES, done_within=DONE_TIMEOUT_SECONDS
        )
    return makespan_result(
        NAME, TITLE, figures, jobs=jobs, duration=duration, settings={"max_running": jobs}, smoke=ctx.smoke
    )


def makespan_result(
    name: str,
    title: str,
    figures: dict[str, object],
    *,
    jobs: int,
    duration: float,
    settings: dict[str, object],
    smoke: bool,
) -> BenchResult:
    """One round's figures, judged on the client-seen makespan against `TARGET_FACTOR` x duration."""
    measured = float(figures["client_seen_makespan_s"])  # type: ignore[arg-type]
    return BenchResult(
        name=name,
        title=title,
        unit="s makespan",
        measured=measured,
        baseline=duration,
        ratio=measured / duration,
        baseline_title="the ideal: one job's duration",
        checks=[Check("client-seen makespan / ideal", measured / duration, "<=", TARGET_FACTOR)],
        rounds=[figures],
        settings={
            "jobs": jobs,
            "duration_seconds": duration,
            "log_lines_per_job": LOG_LINES,
            "submit_connections": SUBMIT_CONNECTIONS,
            "poll_seconds": POLL_SECONDS,
            **settings,
        },
        notes=[
            "One round. makespan = first submit sent -> first /metrics answer with every job terminal, "
            f"on the client's clock (late by at most one {POLL_SECONDS} s poll). Tick p50/p99 are "
            "interpolated inside batch_scheduler_tick_seconds's buckets.",
        ],
        smoke=smoke,
    )
