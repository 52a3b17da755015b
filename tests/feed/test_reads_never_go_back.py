"""Reads served from memory never go back: a client that has seen a job in some state and
line count never sees it earlier again, while the scheduler moves jobs under the reads.
Run against one real process on SQLite (where live jobs are served from memory) and two
replicas on PostgreSQL (read alternately, as a load balancer would)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from batch_testkit import run_batch_service
from batch_testkit.keys import ALICE
from batch_testkit.servers import BatchService

JOBS = 12
READERS_PER_JOB = 2
ORDER = {"QUEUED": 0, "RUNNING": 1}  # every terminal state ranks 2
SETTINGS = {"BATCH_MAX_RUNNING": "4", "BATCH_TICK_SECONDS": "0.05"}  # a queue, so jobs pass every state


def progress(job: dict[str, object]) -> tuple[int, int]:
    return ORDER.get(str(job["state"]), 2), int(job["log_line_count"])  # type: ignore[call-overload]


@pytest.fixture(params=["sqlite", "postgres-two-replicas"])
def servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[BatchService]]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            yield [stack.enter_context(run_batch_service(tmp_path, env=SETTINGS))]
        else:
            url = request.getfixturevalue("postgres_url")
            yield [
                stack.enter_context(run_batch_service(tmp_path, database_url=url, env=SETTINGS))
                for _ in range(2)
            ]


async def read_until_finished(clients: list[httpx.AsyncClient], job_id: str) -> list[tuple[int, int]]:
    """One client's sequential GETs of a job (round-robin over the replicas) until it ends."""
    seen: list[tuple[int, int]] = []
    while not seen or seen[-1][0] < 2:
        client = clients[len(seen) % len(clients)]
        response = await client.get(f"/v1/jobs/{job_id}", headers=ALICE)
        assert response.status_code == 200, response.text
        seen.append(progress(response.json()))
    return seen


async def test_no_read_returns_an_older_state_than_the_same_client_saw(servers: list[BatchService]) -> None:
    clients = [httpx.AsyncClient(base_url=server.url, timeout=30) for server in servers]
    try:
        spec = {"duration_seconds": 0.6, "log_lines": 30}
        jobs = [
            (await clients[0].post("/v1/jobs", json={**spec, "name": f"moving-{i}"}, headers=ALICE)).json()
            for i in range(JOBS)
        ]
        histories = await asyncio.gather(
            *(read_until_finished(clients, job["id"]) for job in jobs for _ in range(READERS_PER_JOB))
        )
    finally:
        for client in clients:
            await client.aclose()
    for history in histories:
        assert history == sorted(history), f"a read went back: {history}"
    # The reads did watch jobs move: queued, running with lines, and finished ones were all seen.
    everything = {step for history in histories for step in history}
    assert {rank for rank, _ in everything} == {0, 1, 2}
    assert any(rank == 1 and 0 < count < 30 for rank, count in everything)
