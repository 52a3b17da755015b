"""`GET /v1/jobs/{id}` throughput, against a bare FastAPI endpoint returning the same shape.

Target: at least half the bare endpoint's requests per second. All servers run side by
side for the whole benchmark (an idle one costs next to nothing), loaded in turn by `wrk`
with the same connections and duration. "bare + SQLite" reads the same job row (from a
copy of the service's own database, taken once the job finished) with the stdlib in the
service's number of reader threads: reported, not judged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pydantic_core import to_json

from batch_testkit.jobs import submit, wait_for_state
from batch_testkit.keys import ALICE
from bench import rawdb
from bench.context import BenchContext
from bench.http_sides import http_settings, http_sides
from bench.paired import median_rate, paired_rounds
from bench.procs import BaselineApp, BatchService, run_baseline_app, run_batch_service
from bench.report import BenchResult, Check

NAME = "get_job_throughput"
TITLE = "GET /v1/jobs/{id} throughput"
TARGET_RATIO = 0.5
JOB = {
    "name": "bench-job",
    "inputs": {"n": 1},
    "duration_seconds": 0,
    "log_lines": 10,
    "labels": {"bench": "get"},
}


async def _rounds(
    ctx: BenchContext, service: BatchService, baseline: BaselineApp, path: str
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The paired rounds, after checking that every side answers the same job with a body."""
    async with httpx.AsyncClient(headers=ALICE) as client:
        bodies = {
            "service": (await client.get(f"{service.url}{path}")).raise_for_status().json(),
            "baseline": (await client.get(f"{baseline.url}{path}")).raise_for_status().json(),
            "bare_sqlite": (await client.get(f"{baseline.url}/db{path}")).raise_for_status().json(),
        }
    if {body["id"] for body in bodies.values()} != {path.rsplit("/", 1)[1]}:
        raise RuntimeError(f"the sides do not answer the same job: {bodies}")
    body_bytes = {label: len(to_json(body)) for label, body in bodies.items()}
    rounds = await paired_rounds(*http_sides(service, baseline, path), rounds=ctx.rounds, seconds=ctx.seconds)
    return rounds, body_bytes


async def run(ctx: BenchContext) -> BenchResult:
    workdir = ctx.subdir(NAME)
    floor_db = workdir / "bare-sqlite.db"
    with run_batch_service(workdir) as service:
        async with httpx.AsyncClient(base_url=service.url, headers=ALICE) as client:
            job = await submit(client, **JOB)
            job = await wait_for_state(client, job["id"])
        rawdb.copy_database(Path(service.database_url.removeprefix("sqlite:///")), floor_db)
        with run_baseline_app(workdir, database=floor_db) as baseline:
            rounds, body_bytes = await _rounds(ctx, service, baseline, f"/v1/jobs/{job['id']}")
    measured, reference = median_rate(rounds, "service"), median_rate(rounds, "baseline")
    ratio = measured / reference
    return BenchResult(
        name=NAME,
        title=TITLE,
        unit="req/s",
        measured=measured,
        baseline=reference,
        ratio=ratio,
        baseline_title="bare FastAPI GET, same uvicorn settings",
        checks=[Check("ratio to bare FastAPI", ratio, ">=", TARGET_RATIO)],
        rounds=rounds,
        settings={**http_settings(ctx, rounds), "body_bytes": body_bytes},
        notes=["The job read is terminal (SUCCEEDED), so its body carries outputs like the baseline's."],
        smoke=ctx.smoke,
    )
