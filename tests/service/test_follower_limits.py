"""Live log followers are limited per job and per owner on a real process: the next one gets
a JSON 429, the admitted ones keep streaming, and a closed follower frees its place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from batch_testkit.keys import ALICE, BOB
from batch_testkit.servers import BatchService, run_batch_service

PER_JOB = 3
PER_OWNER = 5


@pytest.fixture
def service(tmp_path: Path) -> Iterator[BatchService]:
    limits = {"BATCH_MAX_FOLLOWERS_PER_JOB": str(PER_JOB), "BATCH_MAX_FOLLOWERS_PER_OWNER": str(PER_OWNER)}
    with run_batch_service(tmp_path, env=limits) as running:
        yield running


async def submit_long_job(client: httpx.AsyncClient, headers: dict[str, str] = ALICE) -> dict:
    """Ten lines a second for ten minutes: followers always have something new to read."""
    spec = {"name": "long", "duration_seconds": 600, "log_lines": 6000}
    response = await client.post("/v1/jobs", json=spec, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


class Follower:
    """One follow request. Its line iterator stays open between reads: leaving an
    `aiter_lines` loop early lets its cleanup close the stream, which these tests must
    control themselves."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        self._lines = response.aiter_lines()

    async def line_events(self, count: int) -> int:
        """Read until `count` more line events arrived; returns how many were read."""
        seen = 0
        while seen < count:
            if await anext(self._lines) == "event: line":
                seen += 1
        return seen


@asynccontextmanager
async def follow(client: httpx.AsyncClient, job_id: str, headers: dict[str, str]) -> AsyncIterator[Follower]:
    request = client.build_request(
        "GET", f"/v1/jobs/{job_id}/logs", params={"follow": "true"}, headers=headers
    )
    response = await client.send(request, stream=True)
    try:
        yield Follower(response)
    finally:
        await response.aclose()


async def open_follower(client: httpx.AsyncClient, job_id: str, headers: dict[str, str]) -> int:
    async with follow(client, job_id, headers) as stream:
        return stream.status_code


async def assert_too_many(follower: Follower, setting: str) -> None:
    response = follower.response
    await response.aread()
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    assert setting in response.json()["detail"]
    assert int(response.headers["retry-after"]) >= 1


async def test_one_job_admits_its_limit_of_followers_then_429(service: BatchService) -> None:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client, AsyncExitStack() as stack:
        job = await submit_long_job(client)
        token = {"Authorization": f"Bearer {job['logs_token']}"}
        followers = [
            await stack.enter_async_context(follow(client, job["id"], ALICE)) for _ in range(PER_JOB)
        ]
        assert [f.status_code for f in followers] == [200] * PER_JOB

        async with follow(client, job["id"], ALICE) as refused:
            await assert_too_many(refused, "BATCH_MAX_FOLLOWERS_PER_JOB")
        async with follow(client, job["id"], token) as refused_token:  # a logs token counts the same
            await assert_too_many(refused_token, "BATCH_MAX_FOLLOWERS_PER_JOB")

        counts = await asyncio.wait_for(asyncio.gather(*(f.line_events(5) for f in followers)), 30)
        assert counts == [5] * PER_JOB  # the admitted followers were not disturbed
        assert (
            await client.get(f"/v1/jobs/{job['id']}/logs", headers=ALICE)
        ).status_code == 200  # pages still work


async def test_a_closed_follower_frees_its_place(service: BatchService) -> None:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client, AsyncExitStack() as stack:
        job = await submit_long_job(client)
        first = await stack.enter_async_context(follow(client, job["id"], ALICE))
        await first.line_events(1)
        for _ in range(PER_JOB - 1):
            await stack.enter_async_context(follow(client, job["id"], ALICE))
        assert await open_follower(client, job["id"], ALICE) == 429

        await first.response.aclose()
        statuses = []
        for _ in range(100):  # the server notices the closed connection within its next poll
            statuses.append(await open_follower(client, job["id"], ALICE))
            if statuses[-1] == 200:
                break
            await asyncio.sleep(0.1)
        assert statuses[-1] == 200, statuses


async def test_one_owner_admits_its_limit_of_followers_across_jobs(service: BatchService) -> None:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client, AsyncExitStack() as stack:
        jobs = [await submit_long_job(client) for _ in range(PER_OWNER + 1)]
        for job in jobs[:PER_OWNER]:
            assert (await stack.enter_async_context(follow(client, job["id"], ALICE))).status_code == 200

        async with follow(client, jobs[-1]["id"], ALICE) as refused:
            await assert_too_many(refused, "BATCH_MAX_FOLLOWERS_PER_OWNER")

        bobs = await submit_long_job(client, headers=BOB)
        async with follow(client, bobs["id"], BOB) as bob_follows:  # another owner is not affected
            assert bob_follows.status_code == 200
            assert await asyncio.wait_for(bob_follows.line_events(3), 30) == 3
