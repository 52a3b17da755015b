"""Two real service replicas on one PostgreSQL database share the work and survive a crash."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg
import pytest

from batch_testkit.jobs import read_all_logs, wait_for_state
from batch_testkit.keys import ALICE
from batch_testkit.servers import BatchService, run_batch_service

JOBS = 24
# No BATCH_SECRET_KEY: the replicas must agree on the signing key stored in the database.
REPLICA_ENV = {"BATCH_MAX_RUNNING": "6", "BATCH_LEASE_SECONDS": "2"}


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[list[BatchService]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(run_batch_service(tmp_path, database_url=postgres_url, env=REPLICA_ENV))
            for _ in range(2)
        ]


def _lease_owners(postgres_url: str) -> set[str]:
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT DISTINCT lease_owner FROM jobs WHERE state = 'RUNNING'").fetchall()
    return {owner for (owner,) in rows if owner}


async def test_replicas_share_the_queue_and_take_over_a_dead_ones_jobs(
    replicas: list[BatchService], postgres_url: str
) -> None:
    first, second = replicas
    async with httpx.AsyncClient(base_url=first.url, timeout=10) as via_first:
        spec = {"duration_seconds": 3, "log_lines": 30}
        ids = [
            (await via_first.post("/v1/jobs", json={**spec, "name": f"shared-{i}"}, headers=ALICE)).json()[
                "id"
            ]
            for i in range(JOBS)
        ]
        owners: set[str] = set()
        for _ in range(100):
            owners |= _lease_owners(postgres_url)
            if len(owners) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(owners) == 2, "both replicas should be running jobs at once"

    first.server.kill_hard()  # its leases stop being renewed; the survivor adopts its jobs

    async with httpx.AsyncClient(base_url=second.url, timeout=10) as via_second:
        finished = await asyncio.gather(*(wait_for_state(via_second, i, within=60) for i in ids))
        assert [job["state"] for job in finished] == ["SUCCEEDED"] * JOBS
        for job_id in ids:
            seqs = [line["seq"] for line in await read_all_logs(via_second, job_id)]
            assert seqs == list(range(30))
    for replica in replicas:
        assert "scheduler tick failed" not in replica.server.log()


async def test_one_idempotency_key_makes_one_job_across_replicas(replicas: list[BatchService]) -> None:
    headers = {**ALICE, "Idempotency-Key": "across-replicas"}
    spec = {"name": "once", "duration_seconds": 0.1}
    async with httpx.AsyncClient(timeout=20) as client:
        responses = await asyncio.gather(
            *(client.post(f"{replicas[i % 2].url}/v1/jobs", json=spec, headers=headers) for i in range(60))
        )
    assert [r.status_code for r in responses].count(201) == 1
    assert {r.status_code for r in responses} == {200, 201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["logs_token"] for r in responses}) == 1
