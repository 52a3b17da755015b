"""The service's resident memory with 100,000 stored jobs. Target: at most 200 MB (MiB here).

The jobs go in through the API (32 keep-alive connections, `bench.rawhttp`), as real
ones would, so anything the service keeps per request or per job shows up. They are
quick (`duration_seconds=0`, 10 log lines) and capacity is 1,000, so they all finish and
the database holds a real history: 100,000 jobs and their 1,000,000 log lines. Then the
service is exercised as a reader: every page of the job list, 1,000 job reads, 100 log
pages. RSS (`VmRSS` from `/proc`) is read after that; and again on a freshly restarted
process over the same database after the same reads, which separates what 100,000
stored jobs cost from what serving 100,000 submits left behind.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx

from batch_testkit.keys import ALICE
from bench.context import BenchContext
from bench.procs import BatchService, run_batch_service, sample
from bench.rawhttp import post_json_many
from bench.report import BenchResult, Check
from bench.service_api import list_all_jobs, terminal_count

NAME = "memory_100k_jobs"
TITLE = "service RSS with 100,000 stored jobs"
TARGET_MIB = 200.0
SUBMIT_CONCURRENCY = 32
SETTINGS = {"BATCH_MAX_RUNNING": "1000"}
DRAIN_TIMEOUT_SECONDS = 300.0
SEED_BATCH = 5000  # submits per burst, so responses never pile up in memory


def _rss_mib(service: BatchService) -> dict[str, float]:
    now = sample(service.server)
    return {"rss_mib": now.rss_kib / 1024, "peak_rss_mib": now.peak_rss_kib / 1024}


async def _seed(service: BatchService, client: httpx.AsyncClient, count: int) -> list[str]:
    """Submit `count` quick jobs through the API, then wait until every one has finished."""
    ids: list[str] = []
    for first in range(0, count, SEED_BATCH):
        specs = (
            {
                "name": f"bench-memory-{number}",
                "inputs": {"number": number},
                "duration_seconds": 0,
                "log_lines": 10,
                "labels": {"bench": "memory"},
            }
            for number in range(first, min(first + SEED_BATCH, count))
        )
        responses = await post_json_many(
            f"{service.url}/v1/jobs", specs, headers=ALICE, connections=SUBMIT_CONCURRENCY
        )
        if any(response.status != 201 for response in responses):
            raise RuntimeError(f"submits failed: {sorted({response.status for response in responses})}")
        ids += [response.json()["id"] for response in responses]
    deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
    while await terminal_count(client) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"jobs not all done {DRAIN_TIMEOUT_SECONDS} s after submitting")
        await asyncio.sleep(0.5)
    return ids


async def _read_like_a_user(client: httpx.AsyncClient, ids: list[str], count: int) -> dict[str, int]:
    listed = len(await list_all_jobs(client))
    if listed != count:
        raise RuntimeError(f"listed {listed} jobs, stored {count}")
    chosen = random.Random(5).sample(ids, min(len(ids), 1000))
    for job_id in chosen:
        (await client.get(f"/v1/jobs/{job_id}")).raise_for_status()
    for job_id in chosen[:100]:
        (await client.get(f"/v1/jobs/{job_id}/logs")).raise_for_status()
    return {"listed": listed, "job_reads": len(chosen), "log_page_reads": min(len(chosen), 100)}


async def run(ctx: BenchContext) -> BenchResult:
    workdir = ctx.subdir(NAME)
    count = ctx.size(100_000, 200)
    database_url = f"sqlite:///{workdir / 'memory.db'}"
    figures: dict[str, Any] = {}
    with run_batch_service(workdir, database_url=database_url, env=SETTINGS) as service:
        async with httpx.AsyncClient(base_url=service.url, headers=ALICE, timeout=60.0) as client:
            figures["empty"] = _rss_mib(service)
            started = time.perf_counter()
            ids = await _seed(service, client, count)
            figures["seed_seconds"] = time.perf_counter() - started
            figures["after_seed"] = _rss_mib(service)
            figures["reads"] = await _read_like_a_user(client, ids, count)
            figures["after_reads"] = _rss_mib(service)
    with run_batch_service(workdir, database_url=database_url, env=SETTINGS) as service:
        async with httpx.AsyncClient(base_url=service.url, headers=ALICE, timeout=60.0) as client:
            figures["restarted_empty_reads"] = _rss_mib(service)
            await _read_like_a_user(client, ids, count)
            figures["restarted_after_reads"] = _rss_mib(service)
    measured = figures["after_reads"]["rss_mib"]
    restarted = figures["restarted_after_reads"]["rss_mib"]
    return BenchResult(
        name=NAME,
        title=TITLE,
        unit="MiB RSS",
        measured=measured,
        baseline=None,
        ratio=None,
        baseline_title="none (absolute target)",
        checks=[
            Check("RSS MiB after 100k submits + reads", measured, "<=", TARGET_MIB),
            Check("RSS MiB restarted, after reads", restarted, "<=", TARGET_MIB),
        ],
        rounds=[figures],
        settings={"jobs": count, "submit_concurrency": SUBMIT_CONCURRENCY, **SETTINGS},
        notes=[
            "restarted_empty_reads is the fresh process before any read (the database already full).",
            "peak_rss_mib is VmHWM: the most the process ever held.",
        ],
        smoke=ctx.smoke,
    )
