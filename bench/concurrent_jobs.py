"""1,000 jobs of 2 s submitted at once to a service with capacity 1,000: how long until all are done?

Ideal: 2 s, every job starting the moment it is submitted. Target: makespan at most
twice that. The submits go out over 32 keep-alive connections through `bench.rawhttp`,
whose CPU cost is small, so the submit window measures the service, not the client.
The makespan is read from the service's own timestamps: the last `finished_at` minus the
first `created_at`. Its parts say where time went: the submit window (how long the
submits took), the longest wait in QUEUED, and the longest run past the job's 2 s. Each
round runs on a fresh service and database.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import httpx

from batch_testkit.keys import ALICE
from bench.context import BenchContext
from bench.procs import run_batch_service, sample
from bench.rawhttp import post_json_many
from bench.report import BenchResult, Check, median
from bench.service_api import list_all_jobs, terminal_count

NAME = "concurrent_jobs_makespan"
TITLE = "1,000 concurrent 2 s jobs, capacity 1,000"
TARGET_FACTOR = 2.0
SUBMIT_CONCURRENCY = 32
DONE_TIMEOUT_SECONDS = 120.0
LOG_LINES = 10  # the API's default


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


async def _one_round(ctx: BenchContext, index: int, jobs: int, duration: float) -> dict[str, Any]:
    env = {"BATCH_MAX_RUNNING": str(jobs)}
    with run_batch_service(ctx.subdir(f"{NAME}-{index}"), env=env) as service:
        specs = (
            {"name": f"bench-concurrent-{number}", "duration_seconds": duration, "log_lines": LOG_LINES}
            for number in range(jobs)
        )
        async with httpx.AsyncClient(base_url=service.url, headers=ALICE, timeout=30.0) as client:
            service_cpu, client_cpu = sample(service.server).cpu_seconds, time.process_time()
            started = time.perf_counter()
            responses = await post_json_many(
                f"{service.url}/v1/jobs", specs, headers=ALICE, connections=SUBMIT_CONCURRENCY
            )
            submitted = time.perf_counter()
            if any(response.status != 201 for response in responses):
                raise RuntimeError(f"submits failed: {sorted({response.status for response in responses})}")
            service_cpu = sample(service.server).cpu_seconds - service_cpu
            client_cpu = time.process_time() - client_cpu
            while await terminal_count(client) < jobs:
                if time.perf_counter() - started > DONE_TIMEOUT_SECONDS:
                    raise RuntimeError(f"jobs not all done after {DONE_TIMEOUT_SECONDS} s")
                await asyncio.sleep(0.05)
            observed = time.perf_counter() - started
            rows = await list_all_jobs(client)
    if len(rows) != jobs or any(row["state"] != "SUCCEEDED" for row in rows):
        raise RuntimeError("not every job SUCCEEDED")
    created = [_epoch(row["created_at"]) for row in rows]
    started_at = [_epoch(row["started_at"]) for row in rows]
    finished = [_epoch(row["finished_at"]) for row in rows]
    return {
        "makespan_s": max(finished) - min(created),
        "client_observed_s": observed,
        "client_submit_s": submitted - started,
        "service_cpu_share_while_submitting": service_cpu / (submitted - started),
        "client_cpu_share_while_submitting": client_cpu / (submitted - started),
        "submit_window_s": max(created) - min(created),
        "max_queue_wait_s": max(s - c for s, c in zip(started_at, created, strict=True)),
        "median_queue_wait_s": median([s - c for s, c in zip(started_at, created, strict=True)]),
        "max_run_s": max(f - s for f, s in zip(finished, started_at, strict=True)),
    }


async def run(ctx: BenchContext) -> BenchResult:
    jobs = ctx.size(1000, 20)
    duration = 2.0 if not ctx.smoke else 0.5
    rounds = [await _one_round(ctx, index, jobs, duration) for index in range(ctx.size(3, 1))]
    measured = median([row["makespan_s"] for row in rounds])
    ratio = measured / duration
    return BenchResult(
        name=NAME,
        title=TITLE,
        unit="s makespan",
        measured=measured,
        baseline=duration,
        ratio=ratio,
        baseline_title="the ideal: one job's duration",
        checks=[Check("makespan / ideal", ratio, "<=", TARGET_FACTOR)],
        rounds=rounds,
        settings={
            "jobs": jobs,
            "duration_seconds": duration,
            "max_running": jobs,
            "submit_concurrency": SUBMIT_CONCURRENCY,
            "log_lines_per_job": LOG_LINES,
        },
        notes=["makespan = last finished_at - first created_at, from the service's own timestamps."],
        smoke=ctx.smoke,
    )
