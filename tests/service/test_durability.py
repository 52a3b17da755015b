"""kill -9 of a real `batch-service` while 50 jobs run, then a restart on the same file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from batch_testkit.jobs import read_all_logs, wait_for_state
from batch_testkit.keys import ALICE
from batch_testkit.servers import run_batch_service

JOBS = 50
LINES = 40


async def test_every_job_survives_kill_9_with_a_gapless_log(tmp_path: Path) -> None:
    with run_batch_service(tmp_path, env={"BATCH_MAX_RUNNING": "64"}) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            spec = {"name": "durable", "duration_seconds": 4, "log_lines": LINES}
            submitted = [
                (await client.post("/v1/jobs", json={**spec, "name": f"durable-{i}"}, headers=ALICE)).json()
                for i in range(JOBS)
            ]
            ids = [job["id"] for job in submitted]
            # Wait until every job runs and has written part of its log.
            await asyncio.gather(*(wait_for_state(client, i, {"RUNNING"}) for i in ids))
            await _wait_for_some_lines(client, ids)
            before = {i: (await client.get(f"/v1/jobs/{i}", headers=ALICE)).json() for i in ids}

        service.crash_and_restart()  # SIGKILL: no shutdown hook runs

        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            finished = await asyncio.gather(*(wait_for_state(client, i) for i in ids))
            assert [job["state"] for job in finished] == ["SUCCEEDED"] * JOBS
            for job in finished:
                assert job["started_at"] == before[job["id"]]["started_at"]
                assert job["log_line_count"] == LINES
                seqs = [line["seq"] for line in await read_all_logs(client, job["id"], limit=17)]
                assert seqs == list(range(LINES))
    assert any(0 < job["log_line_count"] < LINES for job in before.values())


async def _wait_for_some_lines(client: httpx.AsyncClient, ids: list[str]) -> None:
    for _ in range(200):
        counts = [
            (await client.get(f"/v1/jobs/{i}", headers=ALICE)).json()["log_line_count"] for i in ids[-5:]
        ]
        if all(count > 0 for count in counts):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("jobs never started writing logs")
