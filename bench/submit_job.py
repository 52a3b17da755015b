"""`POST /v1/jobs` throughput on SQLite, against a bare FastAPI endpoint and raw SQLite inserts.

Targets: at least a quarter of the bare endpoint's rate, and at least 500 submits/s. Two
figures are measured alongside for reference: "bare + SQLite" (the bare endpoint storing
the job with the stdlib in one writer thread) and the raw insert rate (`bench.rawdb`: the
service's schema and durability, WAL + synchronous=FULL, one commit per job, no HTTP):
together they show how much of the gap is the database and how much the Python around it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bench import rawdb
from bench.context import BenchContext
from bench.http_sides import http_settings, http_sides
from bench.paired import median_rate, paired_rounds
from bench.procs import run_baseline_app, run_batch_service
from bench.report import BenchResult, Check, median

NAME = "submit_job_throughput"
TITLE = "POST /v1/jobs throughput (SQLite)"
TARGET_RATIO = 0.25
TARGET_RATE = 500.0
SPEC: dict[str, Any] = {
    "name": "bench-submit",
    "inputs": {"n": 1, "text": "hello"},
    "duration_seconds": 5,
    "log_lines": 10,
    "labels": {"bench": "submit"},
}


async def run(ctx: BenchContext) -> BenchResult:
    workdir = ctx.subdir(NAME)
    floor_db = workdir / "bare-sqlite.db"
    rawdb.create_database(floor_db)
    with run_batch_service(workdir) as service, run_baseline_app(workdir, database=floor_db) as baseline:
        sides = http_sides(service, baseline, "/v1/jobs", method="POST", body=json.dumps(SPEC))
        rounds = await paired_rounds(*sides, rounds=ctx.rounds, seconds=ctx.seconds)
    inserts = ctx.size(5000, 200)
    for index, row in enumerate(rounds):
        row["sqlite_raw"] = await asyncio.to_thread(
            rawdb.insert_rate, workdir / f"raw-{index}.db", SPEC, inserts
        )
    measured, reference = median_rate(rounds, "service"), median_rate(rounds, "baseline")
    raw_rate = median([row["sqlite_raw"]["rate"] for row in rounds])
    ratio = measured / reference
    return BenchResult(
        name=NAME,
        title=TITLE,
        unit="submits/s",
        measured=measured,
        baseline=reference,
        ratio=ratio,
        baseline_title="bare FastAPI POST, same uvicorn settings",
        checks=[
            Check("ratio to bare FastAPI", ratio, ">=", TARGET_RATIO),
            Check("submits/s", measured, ">=", TARGET_RATE),
        ],
        rounds=rounds,
        settings={
            **http_settings(ctx, rounds),
            "body": SPEC,
            "sqlite_raw_inserts_per_round": inserts,
            "sqlite_raw_rate_median": raw_rate,
            "ratio_to_sqlite_raw": measured / raw_rate,
        },
        notes=[
            "Service at its default settings (BATCH_MAX_RUNNING=8): submitted jobs mostly wait QUEUED.",
            "sqlite_raw: stdlib sqlite3 on the service's migrated schema, WAL + synchronous=FULL, "
            "one BEGIN / INSERT job / INSERT label / COMMIT per job, one thread, no HTTP.",
        ],
        smoke=ctx.smoke,
    )
