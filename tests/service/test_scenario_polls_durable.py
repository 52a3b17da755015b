"""Poll counts are stored with the job: they survive a restart, and two replicas on one
PostgreSQL database count every GET of a job exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx
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
