"""One owner cannot starve another: running slots and the tick's log lines are shared fairly.

The attacks (issue #9.6): two 0-second jobs with 1,000,000 lines each delayed another
owner's 1 s job to 72 s (the line budget went first come, first served), and 2,000 queued
jobs of one owner kept another's job QUEUED for as long as they took (strict FIFO). The
scheduler tests count ticks with a hand-held clock, on SQLite and PostgreSQL; the service
tests attack a real process.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from batch_service.db import Database
from batch_service.models import JobSpec
from batch_service.scheduler import Scheduler
from batch_service.store import jobs as job_store
from batch_testkit.jobs import wait_for_state
from batch_testkit.keys import ALICE, BOB
from batch_testkit.servers import run_batch_service
from tests.utils.clock import HandClock

STARTED = 1_000_000.0
MILLION = 1_000_000


async def add_jobs(db: Database, owner: str, count: int = 1, **spec: Any) -> list[str]:
    new = [
        job_store.prepare_job(
            owner=owner, spec=JobSpec(name=f"{owner}-{i}", **spec), idempotency_key=None, now=STARTED
        )
        for i in range(count)
    ]
    return [job["id"] for job in await db.write(job_store.submit_jobs, jobs=new)]


async def state(db: Database, owner: str, job_id: str) -> tuple[str, int]:
    job = await db.read(job_store.get_job, owner=owner, job_id=job_id)
    assert job is not None
    return job["state"], job["log_line_count"]


async def test_a_small_job_finishes_in_its_first_tick_beside_another_owners_huge_logs(db: Database) -> None:
    clock = HandClock()
    scheduler = Scheduler(db, max_running=8, lease_seconds=30, tick_seconds=0.1, clock=clock)
    huge = await add_jobs(db, "alice", 2, duration_seconds=0, log_lines=MILLION)
    (small,) = await add_jobs(db, "bob", duration_seconds=1, log_lines=10)
    await scheduler.tick()  # all three start
    clock.now += 1  # the small job's run is over: its 10 lines are due

    ticks = 0
    while (await state(db, "bob", small))[0] != "SUCCEEDED":
        await scheduler.tick()
        ticks += 1
        assert ticks < 50, "the small job never finished"
    assert ticks == 1  # it was 41 with the budget first come, first served
    for job_id in huge:
        job_state, written = await state(db, "alice", job_id)
        assert job_state == "RUNNING" and 0 < written < MILLION


async def test_one_owners_two_thousand_queued_jobs_do_not_keep_anothers_queued(db: Database) -> None:
    clock = HandClock()
    scheduler = Scheduler(db, max_running=8, lease_seconds=30, tick_seconds=0.1, clock=clock)
    flood = await add_jobs(db, "alice", 2000, duration_seconds=10, log_lines=0)
    await scheduler.tick()  # alice fills every slot
    (waiting,) = await add_jobs(db, "bob", duration_seconds=10, log_lines=0)
    await scheduler.tick()
    assert (await state(db, "bob", waiting))[0] == "QUEUED"  # no free slot, and no preemption

    clock.now += 10  # alice's eight finish: the first tick with free slots starts bob's job
    await scheduler.tick()
    assert (await state(db, "bob", waiting))[0] == "RUNNING"
    states = [(await state(db, "alice", job_id))[0] for job_id in flood[:16]]
    assert states == ["SUCCEEDED"] * 8 + ["RUNNING"] * 7 + ["QUEUED"]


async def test_a_per_owner_limit_keeps_slots_for_other_owners(db: Database) -> None:
    clock = HandClock()
    scheduler = Scheduler(
        db, max_running=8, max_running_per_owner=4, lease_seconds=30, tick_seconds=0.1, clock=clock
    )
    flood = await add_jobs(db, "alice", 20, duration_seconds=600, log_lines=0)
    await scheduler.tick()
    (waiting,) = await add_jobs(db, "bob", duration_seconds=1, log_lines=0)
    await scheduler.tick()  # the very next tick
    assert (await state(db, "bob", waiting))[0] == "RUNNING"
    assert [(await state(db, "alice", job_id))[0] for job_id in flood[:5]] == ["RUNNING"] * 4 + ["QUEUED"]


async def test_free_slots_go_round_robin_between_waiting_owners(db: Database) -> None:
    clock = HandClock()
    scheduler = Scheduler(db, max_running=6, lease_seconds=30, tick_seconds=0.1, clock=clock)
    ids = {owner: await add_jobs(db, owner, 10, duration_seconds=60) for owner in ("carol", "alice", "bob")}
    await scheduler.tick()
    for owner, owned in ids.items():
        assert [(await state(db, owner, job_id))[0] for job_id in owned[:3]] == ["RUNNING"] * 2 + ["QUEUED"]


async def submit_many(client: httpx.AsyncClient, count: int, spec: dict[str, Any]) -> None:
    limit = asyncio.Semaphore(32)

    async def one(number: int) -> None:
        async with limit:
            response = await client.post("/v1/jobs", json={**spec, "name": f"flood-{number}"}, headers=ALICE)
            assert response.status_code == 201, response.text

    await asyncio.gather(*(one(number) for number in range(count)))


async def queue_depth(client: httpx.AsyncClient) -> float:
    metrics = (await client.get("/metrics")).text
    (line,) = [line for line in metrics.splitlines() if line.startswith("batch_queue_depth ")]
    return float(line.split()[1])


async def test_a_real_service_finishes_a_small_job_while_anothers_million_line_logs_are_written(
    tmp_path: Path,
) -> None:
    with run_batch_service(tmp_path, env={"BATCH_LOG_LINES_PER_TICK": "5000"}) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            huge = {"name": "huge", "duration_seconds": 0, "log_lines": MILLION}
            big = [(await client.post("/v1/jobs", json=huge, headers=ALICE)).json()["id"] for _ in range(2)]
            small = {"name": "small", "duration_seconds": 1, "log_lines": 10}
            small_id = (await client.post("/v1/jobs", json=small, headers=BOB)).json()["id"]

            done = await wait_for_state(client, small_id, headers=BOB, within=60)
            assert (done["state"], done["log_line_count"]) == ("SUCCEEDED", 10)
            for job_id in big:  # 400 ticks of lines each: far from done
                job = (await client.get(f"/v1/jobs/{job_id}", headers=ALICE)).json()
                assert job["state"] == "RUNNING" and job["log_line_count"] < MILLION


async def test_a_real_service_starts_another_owners_job_behind_two_thousand_queued(tmp_path: Path) -> None:
    with run_batch_service(tmp_path) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            await submit_many(client, 2000, {"duration_seconds": 2, "log_lines": 0})
            mine = (
                await client.post("/v1/jobs", json={"name": "mine", "duration_seconds": 1}, headers=BOB)
            ).json()

            await wait_for_state(client, mine["id"], {"RUNNING", "SUCCEEDED"}, headers=BOB, within=60)
            assert await queue_depth(client) >= 1900  # FIFO would have run all of these first


async def test_a_real_service_keeps_slots_for_others_under_a_per_owner_limit(tmp_path: Path) -> None:
    env = {"BATCH_MAX_RUNNING": "4", "BATCH_MAX_RUNNING_PER_OWNER": "2"}
    with run_batch_service(tmp_path, env=env) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            await submit_many(client, 10, {"duration_seconds": 600, "log_lines": 0})
            mine = (
                await client.post("/v1/jobs", json={"name": "mine", "duration_seconds": 600}, headers=BOB)
            ).json()

            await wait_for_state(client, mine["id"], {"RUNNING"}, headers=BOB)
            alices = (await client.get("/v1/jobs", params={"state": "RUNNING"}, headers=ALICE)).json()["jobs"]
            assert len(alices) == 2
