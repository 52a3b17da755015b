"""Many jobs submitted at once, timed as a client sees them: from the first submit sent to the
first answer that says every job is over.

The submits go out over keep-alive connections through `bench.rawhttp` (cheap beside the
service), spread evenly over the service's replicas: one `POST /v1/jobs` per job, or with
`batch_size` set, `POST /v1/jobs:batch` requests of that many jobs, `batch_connections` of
them in flight at once (1: one after another). Then the client asks `/metrics` every
`POLL_SECONDS` how many jobs are terminal, so what it sees is late by at most one poll.
The service's own timestamps are kept only to say where the time went (the submit
window, the longest wait in QUEUED, the longest run past the job's duration), never to
judge. Each replica's scheduler ticks are read from `batch_scheduler_tick_seconds`
(before and after, so only this round's ticks count) and its peak RSS from `/proc`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx

from batch_testkit.keys import ALICE
from bench.procs import BatchService, sample
from bench.rawhttp import post_json_many
from bench.report import median
from bench.service_api import TickHistogram, list_all_jobs, terminal_count, tick_histogram

SUBMIT_CONNECTIONS = 32  # in all, shared out over the replicas
POLL_SECONDS = 0.1


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


async def _submit_all(services: Sequence[BatchService], specs: list[dict[str, Any]]) -> list[int]:
    """Every spec POSTed, the i-th to replica i mod n, all replicas at once; the statuses."""
    shares = [specs[index :: len(services)] for index in range(len(services))]
    per_replica = max(1, SUBMIT_CONNECTIONS // len(services))
    answers = await asyncio.gather(
        *(
            post_json_many(f"{service.url}/v1/jobs", share, headers=ALICE, connections=per_replica)
            for service, share in zip(services, shares, strict=True)
        )
    )
    return [response.status for responses in answers for response in responses]


async def _submit_batches(
    services: Sequence[BatchService], specs: list[dict[str, Any]], *, batch_size: int, connections: int
) -> list[int]:
    """The specs in `POST /v1/jobs:batch` requests of `batch_size`, the i-th request to replica
    i mod n, `connections` requests in flight per replica; one status per job."""
    bodies = [{"jobs": specs[start : start + batch_size]} for start in range(0, len(specs), batch_size)]
    shares = [bodies[index :: len(services)] for index in range(len(services))]
    answers = await asyncio.gather(
        *(
            post_json_many(f"{service.url}/v1/jobs:batch", share, headers=ALICE, connections=connections)
            for service, share in zip(services, shares, strict=True)
            if share
        )
    )
    return [
        response.status
        for responses in answers
        for response in responses
        for _ in (response.json()["jobs"] if response.status == 201 else [None])
    ]


async def makespan_round(
    services: Sequence[BatchService],
    *,
    jobs: int,
    duration: float,
    log_lines: int,
    done_within: float,
    batch_size: int | None = None,
    batch_connections: int = 1,
) -> dict[str, Any]:
    """One round: `jobs` jobs of `duration` s and `log_lines` lines each, submitted at once
    (one POST each, or in batches of `batch_size`)."""
    specs = [
        {"name": f"bench-makespan-{number}", "duration_seconds": duration, "log_lines": log_lines}
        for number in range(jobs)
    ]
    clients = [httpx.AsyncClient(base_url=service.url, headers=ALICE, timeout=60.0) for service in services]
    try:
        ticks_before = [await tick_histogram(client) for client in clients]
        started = time.perf_counter()
        if batch_size is None:
            statuses = await _submit_all(services, specs)
        else:
            statuses = await _submit_batches(
                services, specs, batch_size=batch_size, connections=batch_connections
            )
        submitted = time.perf_counter()
        if len(statuses) != jobs or any(status != 201 for status in statuses):
            raise RuntimeError(f"submits failed: {sorted(set(statuses))}")
        polls = 0
        while (finished := await terminal_count(clients[0])) < jobs:
            polls += 1
            if time.perf_counter() - started > done_within:
                raise RuntimeError(f"{finished} of {jobs} jobs done after {done_within} s")
            await asyncio.sleep(POLL_SECONDS)
        client_seen = time.perf_counter() - started
        ticks = [
            _tick_figures(await tick_histogram(client), before)
            for client, before in zip(clients, ticks_before, strict=True)
        ]
        rows = await list_all_jobs(clients[0])
    finally:
        for client in clients:
            await client.aclose()
    if len(rows) != jobs or any(row["state"] != "SUCCEEDED" for row in rows):
        raise RuntimeError("not every job SUCCEEDED")
    return {
        "submit": "single POSTs" if batch_size is None else f"batches of {batch_size}",
        "submit_connections": SUBMIT_CONNECTIONS if batch_size is None else batch_connections,
        "client_seen_makespan_s": client_seen,
        "client_submit_s": submitted - started,
        "client_last_submit_to_all_seen_s": client_seen - (submitted - started),
        "client_polls": polls,
        **_service_view(rows),
        "ticks": ticks,
        "peak_rss_mib": [sample(service.server).peak_rss_kib / 1024 for service in services],
    }


def _service_view(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Where the time went, from the service's timestamps (reported, not judged)."""
    created = [_epoch(row["created_at"]) for row in rows]
    started = [_epoch(row["started_at"]) for row in rows]
    finished = [_epoch(row["finished_at"]) for row in rows]
    waits = [s - c for s, c in zip(started, created, strict=True)]
    return {
        "service_makespan_s": max(finished) - min(created),
        "submit_window_s": max(created) - min(created),
        "max_queue_wait_s": max(waits),
        "median_queue_wait_s": median(waits),
        "max_run_s": max(f - s for f, s in zip(finished, started, strict=True)),
    }


def _tick_figures(after: TickHistogram | None, before: TickHistogram | None) -> dict[str, float] | None:
    """This round's ticks on one replica (None from a build without the tick metric)."""
    if after is None or before is None:
        return None
    histogram = after.since(before)
    return {
        "ticks": histogram.count,
        "mean_s": histogram.total / histogram.count if histogram.count else float("nan"),
        "p50_s": histogram.quantile(0.5),
        "p99_s": histogram.quantile(0.99),
    }
