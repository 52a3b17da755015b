"""Poll counts are stored with the job: they survive a restart, and two replicas on one
PostgreSQL database count every GET of a job exactly once; the test clock, kept in the
database too, moves the jobs of every replica."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg
import pytest

from batch_testkit import BatchTestClient, by_polls, run_batch_service


def test_poll_counts_survive_a_restart(tmp_path: Path) -> None:
    with run_batch_service(tmp_path, test_mode=True) as service, BatchTestClient(service.url) as batch:
        job = batch.submit(log_lines=4, scenario=by_polls(running_after=1, finished_after=3))
        before = [batch.job(job["id"])["state"] for _ in range(2)]

        service.crash_and_restart()  # kill -9: only what was committed counts

        after = [batch.job(job["id"]) for _ in range(2)]

    assert before == ["QUEUED", "RUNNING"]
    assert [j["state"] for j in after] == ["RUNNING", "SUCCEEDED"]
    assert after[-1]["log_line_count"] == 4


@pytest.mark.postgres
async def test_two_replicas_count_concurrent_gets_of_one_job_exactly_once(
    tmp_path: Path, postgres_url: str
) -> None:
    with ExitStack() as stack:
        replicas = [
            stack.enter_context(run_batch_service(tmp_path, test_mode=True, database_url=postgres_url))
            for _ in range(2)
        ]
        batch = stack.enter_context(BatchTestClient(replicas[0].url))
        job = batch.submit(log_lines=7, scenario=by_polls(running_after=3, finished_after=10))
        clients = [
            stack.enter_context(httpx.Client(base_url=r.url, headers=batch.as_owner("alice")))
            for r in replicas
        ]

        async def get(number: int) -> dict[str, object]:
            response = await asyncio.to_thread(clients[number % 2].get, f"/v1/jobs/{job['id']}")
            assert response.status_code == 200, response.text
            return response.json()

        answers = await asyncio.gather(*(get(n) for n in range(20)))
        final = batch.job(job["id"])

    # GET number k shows the state after k - 1 answered polls, whichever replica answers it
    assert Counter(a["state"] for a in answers) == {"QUEUED": 3, "RUNNING": 7, "SUCCEEDED": 10}
    assert final["state"] == "SUCCEEDED"
    assert final["log_line_count"] == 7
    assert sorted(a["log_line_count"] for a in answers if a["state"] == "RUNNING") == [0, 1, 2, 3, 4, 5, 6]


def wait_until(check: Callable[[], bool], what: str, within: float = 30.0) -> None:
    """Until another process has caught up (a replica follows the clock on its next tick)."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def lease_owners(postgres_url: str) -> set[str]:
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT lease_owner FROM jobs WHERE state = 'RUNNING'").fetchall()
    return {owner for (owner,) in rows if owner}


@pytest.mark.postgres
def test_a_clock_advanced_through_one_replica_moves_the_jobs_of_the_other(
    tmp_path: Path, postgres_url: str
) -> None:
    one_each = {"BATCH_MAX_RUNNING": "1"}
    with ExitStack() as stack:
        first, second = (
            stack.enter_context(
                run_batch_service(tmp_path, test_mode=True, database_url=postgres_url, env=one_each)
            )
            for _ in range(2)
        )
        via_first = stack.enter_context(BatchTestClient(first.url))
        via_second = stack.enter_context(BatchTestClient(second.url))
        jobs = [via_first.submit(duration_seconds=3600, timeout_seconds=7200)["id"] for _ in range(2)]
        wait_until(lambda: len(lease_owners(postgres_url)) == 2, "each replica runs one of the jobs")

        via_first.advance_clock(3600)

        wait_until(lambda: via_second.clock()["offset_seconds"] == 3600, "the second replica follows")
        wait_until(lambda: all(via_second.job(j)["state"] == "SUCCEEDED" for j in jobs), "both jobs end")
        assert [via_first.job(j)["log_line_count"] for j in jobs] == [4, 4]
