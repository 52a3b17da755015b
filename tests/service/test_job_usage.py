"""A job's CPU and memory over its run, served by a real `batch-service` at /v1/jobs/{id}/usage.

The series is simulated from the spec (its optional `usage` object) and the run's start, so
it is the same on every read, stops where the run stopped, and pages like the log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from batch_service.usage import MIB, UsageProfile, samples_reached, usage_sample
from batch_testkit.jobs import submit, wait_for_state
from batch_testkit.keys import ALICE, BOB, bearer
from batch_testkit.servers import BatchService, run_batch_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BatchService]:
    with run_batch_service(tmp_path_factory.mktemp("usage"), env={"BATCH_MAX_RUNNING": "1"}) as running:
        yield running


@pytest.fixture
async def client(service: BatchService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
        yield http


async def usage_pages(
    client: httpx.AsyncClient, job_id: str, headers: dict[str, str] = ALICE, limit: int = 1000
) -> list[dict[str, Any]]:
    """Every page, following next_page_token until the service says the series is complete."""
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"page_token": token} if token else {})}
        response = await client.get(f"/v1/jobs/{job_id}/usage", params=params, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        token = pages[-1]["next_page_token"]
        if token is None:
            return pages


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def test_a_finished_job_has_one_sample_a_second_shaped_by_its_spec(client: httpx.AsyncClient) -> None:
    job = await submit(
        client, duration_seconds=3, usage={"cpu_cores": 2.0, "memory_mib": 256, "shape": "flat"}
    )
    finished = await wait_for_state(client, job["id"])

    (page,) = await usage_pages(client, job["id"])

    assert (page["job_id"], page["state"], page["interval_seconds"]) == (job["id"], "SUCCEEDED", 1.0)
    assert (page["started_at"], page["finished_at"]) == (finished["started_at"], finished["finished_at"])
    samples = page["samples"]
    offsets = [epoch(s["timestamp"]) - epoch(finished["started_at"]) for s in samples]
    assert offsets == pytest.approx([0, 1, 2, 3], abs=1e-3)
    assert {s["memory_bytes"] for s in samples} == {256 * MIB}
    assert all(1.8 <= s["cpu_cores"] <= 2.0 for s in samples)  # the peak, less up to 10 % of texture


async def test_the_series_is_the_same_on_every_read_and_for_every_job_of_that_spec(
    client: httpx.AsyncClient,
) -> None:
    usage = {"cpu_cores": 4.0, "memory_mib": 1024, "shape": "ramp"}
    jobs = [await submit(client, duration_seconds=2, usage=usage) for _ in range(2)]
    for job in jobs:
        await wait_for_state(client, job["id"])

    reads = [(await usage_pages(client, job["id"]))[0]["samples"] for job in [*jobs, jobs[0]]]

    values = [[(s["cpu_cores"], s["memory_bytes"]) for s in samples] for samples in reads]
    assert values[0] == values[1] == values[2]
    assert reads[0] == reads[2]
    assert values[0][0][0] < values[0][-1][0] and values[0][0][1] < values[0][-1][1]  # a ramp rises


async def test_pages_follow_one_another_without_gaps(client: httpx.AsyncClient) -> None:
    job = await submit(client, duration_seconds=4)
    await wait_for_state(client, job["id"])

    pages = await usage_pages(client, job["id"], limit=2)

    assert [len(page["samples"]) for page in pages] == [2, 2, 1]
    whole = (await usage_pages(client, job["id"]))[0]["samples"]
    assert [s for page in pages for s in page["samples"]] == whole


async def test_a_running_job_has_the_samples_of_its_run_so_far(client: httpx.AsyncClient) -> None:
    job = await submit(client, duration_seconds=600)
    running = await wait_for_state(client, job["id"], {"RUNNING"})

    response = await client.get(f"/v1/jobs/{job['id']}/usage", headers=ALICE)
    page = response.json()

    assert page["state"] == "RUNNING"
    assert page["next_page_token"] is not None  # more to come
    assert 1 <= len(page["samples"]) < 600
    assert page["samples"][0]["timestamp"] == running["started_at"]
    await client.post(f"/v1/jobs/{job['id']}/cancel", headers=ALICE)


async def test_a_cancelled_job_stops_where_its_run_stopped(client: httpx.AsyncClient) -> None:
    job = await submit(client, duration_seconds=600)
    await wait_for_state(client, job["id"], {"RUNNING"})
    cancelled = (await client.post(f"/v1/jobs/{job['id']}/cancel", headers=ALICE)).json()

    pages = await usage_pages(client, job["id"])

    samples = [s for page in pages for s in page["samples"]]
    assert pages[-1]["state"] == "CANCELLED"
    assert samples and all(epoch(s["timestamp"]) <= epoch(cancelled["finished_at"]) for s in samples)


async def test_a_queued_job_has_no_samples_yet_and_none_once_cancelled(client: httpx.AsyncClient) -> None:
    blocker = await submit(client, duration_seconds=600)  # the service runs one job at a time
    await wait_for_state(client, blocker["id"], {"RUNNING"})
    job = await submit(client, duration_seconds=600)

    queued = (await client.get(f"/v1/jobs/{job['id']}/usage", headers=ALICE)).json()
    await client.post(f"/v1/jobs/{job['id']}/cancel", headers=ALICE)
    cancelled = await usage_pages(client, job["id"])
    await client.post(f"/v1/jobs/{blocker['id']}/cancel", headers=ALICE)

    assert (queued["state"], queued["samples"], queued["started_at"]) == ("QUEUED", [], None)
    assert queued["next_page_token"] is not None
    assert [(page["state"], page["samples"]) for page in cancelled] == [("CANCELLED", [])]


async def test_the_logs_token_reads_its_jobs_usage_and_nothing_else(client: httpx.AsyncClient) -> None:
    job, other = await submit(client, duration_seconds=0), await submit(client, duration_seconds=0)
    await wait_for_state(client, job["id"])
    token = bearer(job["logs_token"])

    read_with_token = await client.get(f"/v1/jobs/{job['id']}/usage", headers=token)
    other_job = await client.get(f"/v1/jobs/{other['id']}/usage", headers=token)
    by_bob = await client.get(f"/v1/jobs/{job['id']}/usage", headers=BOB)
    anonymous = await client.get(f"/v1/jobs/{job['id']}/usage")

    assert read_with_token.status_code == 200
    assert (other_job.status_code, by_bob.status_code, anonymous.status_code) == (401, 404, 401)
    assert by_bob.json() == {"detail": "job not found"}


@pytest.mark.parametrize(
    ("usage", "field"),
    [
        ({"shape": "zigzag"}, "shape"),
        ({"cpu_cores": 0}, "cpu_cores"),
        ({"memory_mib": -1}, "memory_mib"),
        ({"gpus": 1}, "gpus"),
    ],
)
async def test_a_bad_usage_spec_is_a_422_naming_the_field(
    client: httpx.AsyncClient, usage: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/jobs", json={"name": "x", "usage": usage}, headers=ALICE)

    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == [["body", "usage", field]]


async def test_a_bad_page_token_is_a_400(client: httpx.AsyncClient) -> None:
    job = await submit(client, duration_seconds=0)

    response = await client.get(f"/v1/jobs/{job['id']}/usage", params={"page_token": "nope"}, headers=ALICE)

    assert response.status_code == 400
    assert response.json() == {"detail": "page_token is not a valid usage page token"}


def test_a_long_run_is_sampled_more_sparsely_never_past_600_intervals() -> None:
    assert samples_reached(run_length=86_400, started_at=0, until=86_400) == 601
    assert samples_reached(run_length=10, started_at=100, until=99) == 0
    assert samples_reached(run_length=10, started_at=100, until=104.5) == 5
    last = usage_sample(UsageProfile(), run_length=86_400, started_at=0, index=600)
    assert last.timestamp == 86_400
