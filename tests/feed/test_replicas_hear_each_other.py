"""Two real replicas on one fresh PostgreSQL database: what one commits, the other's
clients see at once, and a follower on one receives the lines the other writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from batch_testkit import run_batch_service
from batch_testkit.keys import ADMIN, ALICE
from batch_testkit.servers import BatchService
from tests.utils.sse import follow_events, line_seqs

LINES = 20
# Queued for an hour unless forced: so the job runs on the replica that forces it, A.
PARKED = {"name": "on-a", "duration_seconds": 3, "log_lines": LINES, "scenario": {"queued_seconds": 3600}}


async def poll_while_running(client: httpx.AsyncClient, job_id: str) -> dict[str, object]:
    """GET the job back to back until it is no longer RUNNING."""
    job: dict[str, object] = {"state": "RUNNING"}
    while job["state"] == "RUNNING":
        job = (await client.get(f"/v1/jobs/{job_id}", headers=ALICE)).json()
    return job


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[tuple[BatchService, BatchService]]:
    with ExitStack() as stack:
        a, b = (
            stack.enter_context(run_batch_service(tmp_path, database_url=postgres_url, test_mode=True))
            for _ in range(2)
        )
        yield a, b


async def test_a_follower_on_b_receives_what_a_writes_and_b_sees_a_finish_within_a_second(
    replicas: tuple[BatchService, BatchService],
) -> None:
    a, b = replicas
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=30) as via_a,
        httpx.AsyncClient(base_url=b.url, timeout=30) as via_b,
    ):
        job = (await via_a.post("/v1/jobs", json=PARKED, headers=ALICE)).json()
        forced = await via_a.post(
            f"/admin/v1/jobs/{job['id']}/state", json={"state": "RUNNING"}, headers=ADMIN
        )
        assert forced.status_code == 200, forced.text
        following = asyncio.create_task(follow_events(via_b, job["id"], ALICE))

        finished = await poll_while_running(via_a, job["id"])
        seen_on_a = time.monotonic()
        on_b = await poll_while_running(via_b, job["id"])
        assert time.monotonic() - seen_on_a < 1.0  # the bound, not a speed test
        assert finished["state"] == on_b["state"] == "SUCCEEDED"

        events = await asyncio.wait_for(following, 60)  # without the feed, B's follower never wakes
    assert line_seqs(events) == list(range(LINES))
    assert events[-1] == ("end", {"state": "SUCCEEDED", "log_line_count": LINES, "error": None})
    assert "lost PostgreSQL LISTEN" not in a.server.log() + b.server.log()
