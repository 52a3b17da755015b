"""`POST /v1/jobs:batch` from careless and hostile clients, against a real process on SQLite
and on PostgreSQL: all of a batch or none of it, idempotent under races, each owner's own."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from batch_service.limits import MAX_BATCH_JOBS, MAX_BODY_BYTES
from batch_testkit.jobs import read_all_logs
from batch_testkit.keys import ALICE, BOB
from batch_testkit.servers import BatchService, run_batch_service
from tests.conftest import InProcessApi
from tests.utils.postgres import fresh_postgres_database

BATCH = "/v1/jobs:batch"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BatchService]:
    """One real process per database for the module, with a slot for every job of the
    largest batch; each test tags its jobs with a label of its own."""
    workdir = tmp_path_factory.mktemp(request.param)
    with ExitStack() as stack:
        url = None if request.param == "sqlite" else stack.enter_context(fresh_postgres_database())
        env = {"BATCH_MAX_RUNNING": str(MAX_BATCH_JOBS)}
        yield stack.enter_context(run_batch_service(workdir, database_url=url, env=env))


@pytest.fixture
async def client(service: BatchService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.url, headers=ALICE, timeout=60) as client:
        yield client


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:12]


def specs(count: int, tag: str, **overrides: Any) -> list[dict[str, Any]]:
    return [
        {"name": f"b{index}", "duration_seconds": 0, "log_lines": 3, "labels": {"tag": tag}, **overrides}
        for index in range(count)
    ]


async def listed(client: httpx.AsyncClient, tag: str, headers: dict[str, str] = ALICE) -> list[str]:
    """Ids of the caller's jobs labelled `tag`, oldest first, over every page."""
    ids: list[str] = []
    params: dict[str, Any] = {"label": f"tag:{tag}", "limit": 500}
    while True:
        response = await client.get("/v1/jobs", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [job["id"] for job in page["jobs"]]
        if page["next_page_token"] is None:
            return ids[::-1]
        params["page_token"] = page["next_page_token"]


def problem_locations(response: httpx.Response) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    return [problem["loc"] for problem in response.json()["detail"]]


async def test_a_batch_answers_its_jobs_in_order_each_with_its_logs_token(
    client: httpx.AsyncClient, tag: str
) -> None:
    response = await client.post(BATCH, json={"jobs": specs(5, tag)})
    assert response.status_code == 201, response.text
    jobs = response.json()["jobs"]
    assert [job["name"] for job in jobs] == [f"b{index}" for index in range(5)]
    assert {job["state"] for job in jobs} == {"QUEUED"}
    assert await listed(client, tag) == [job["id"] for job in jobs]
    reader = {"Authorization": f"Bearer {jobs[3]['logs_token']}"}
    logs = await client.get(f"/v1/jobs/{jobs[3]['id']}/logs", headers=reader)
    assert logs.status_code == 200, logs.text


async def test_an_empty_list_is_a_422_on_jobs(client: httpx.AsyncClient) -> None:
    assert problem_locations(await client.post(BATCH, json={"jobs": []})) == [["body", "jobs"]]


@pytest.mark.parametrize("body", [{}, [], {"jobs": {"name": "x"}}, {"jobs": [{"name": "x"}], "extra": 1}])
async def test_a_body_that_is_not_a_list_of_specs_is_a_422(client: httpx.AsyncClient, body: Any) -> None:
    assert problem_locations(await client.post(BATCH, json=body))


async def test_one_spec_over_the_limit_is_a_422_and_creates_nothing(
    client: httpx.AsyncClient, tag: str
) -> None:
    response = await client.post(BATCH, json={"jobs": specs(MAX_BATCH_JOBS + 1, tag)})
    assert problem_locations(response) == [["body", "jobs"]]
    assert await listed(client, tag) == []


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"log_lines": -1}, "log_lines"),
        ({"log_lines": "5"}, "log_lines"),
        ({"name": "nul\x00"}, "name"),
        ({"inputs": {"text": "\udfff"}}, "inputs"),
        ({"scenario": {"running_after_polls": 1}}, "scenario"),  # not in test mode
        ({"colour": "red"}, "colour"),
    ],
)
async def test_one_bad_spec_among_many_is_a_422_naming_its_index_and_nothing_is_created(
    client: httpx.AsyncClient, tag: str, bad: dict[str, Any], field: str
) -> None:
    batch = specs(50, tag)
    batch[37].update(bad)
    response = await client.post(
        BATCH, content=json.dumps({"jobs": batch}), headers={"Content-Type": "application/json"}
    )
    locations = problem_locations(response)
    assert [location[:4] for location in locations] == [["body", "jobs", 37, field]]
    assert "\udfff" not in response.text and "nul\x00" not in response.text
    assert await listed(client, tag) == []


async def test_a_body_over_the_cap_is_a_json_413_and_creates_nothing(
    client: httpx.AsyncClient, tag: str
) -> None:
    padding = "x" * (MAX_BODY_BYTES // 100)
    batch = specs(100, tag, inputs={"padding": padding})
    response = await client.post(BATCH, json={"jobs": batch})
    assert response.status_code == 413, response.text
    assert response.json() == {"detail": "Content Too Large"}
    assert await listed(client, tag) == []


async def test_a_streamed_body_over_the_cap_is_a_json_413(client: httpx.AsyncClient, tag: str) -> None:
    body = json.dumps({"jobs": specs(100, tag, inputs={"padding": "x" * (MAX_BODY_BYTES // 100)})}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = await client.post(BATCH, content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert await listed(client, tag) == []


async def test_a_retry_with_the_key_answers_the_same_jobs(client: httpx.AsyncClient, tag: str) -> None:
    key = {"Idempotency-Key": f"batch-{tag}"}
    first = await client.post(BATCH, json={"jobs": specs(20, tag)}, headers=key)
    again = await client.post(BATCH, json={"jobs": specs(20, tag)}, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert [job["id"] for job in again.json()["jobs"]] == [job["id"] for job in first.json()["jobs"]]
    assert [job["logs_token"] for job in again.json()["jobs"]] == [
        job["logs_token"] for job in first.json()["jobs"]
    ]
    assert len(await listed(client, tag)) == 20


@pytest.mark.parametrize(
    "change",
    [
        lambda batch: batch[:-1],  # shorter
        lambda batch: [*batch, batch[0]],  # longer
        lambda batch: batch[::-1],  # the same specs in another order
        lambda batch: [*batch[:3], {**batch[3], "log_lines": 4}, *batch[4:]],
    ],
    ids=["shorter", "longer", "reordered", "one-spec-changed"],
)
async def test_the_key_with_another_body_is_the_same_409_as_a_single_submit(
    client: httpx.AsyncClient, tag: str, change: Any
) -> None:
    key = {"Idempotency-Key": f"batch-{tag}"}
    batch = [{**spec, "name": f"{spec['name']}-{index}"} for index, spec in enumerate(specs(6, tag))]
    assert (await client.post(BATCH, json={"jobs": batch}, headers=key)).status_code == 201
    conflict = await client.post(BATCH, json={"jobs": change(batch)}, headers=key)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json() == {"detail": "Idempotency-Key was already used with a different job spec"}
    assert len(await listed(client, tag)) == 6


async def test_concurrent_batches_with_one_key_create_one_set_of_jobs(
    client: httpx.AsyncClient, tag: str
) -> None:
    key = {"Idempotency-Key": f"race-{tag}"}
    answers = await asyncio.gather(
        *(client.post(BATCH, json={"jobs": specs(100, tag)}, headers=key) for _ in range(8))
    )
    assert sorted(answer.status_code for answer in answers) == [200] * 7 + [201]
    id_lists = {tuple(job["id"] for job in answer.json()["jobs"]) for answer in answers}
    assert len(id_lists) == 1
    assert tuple(await listed(client, tag)) == id_lists.pop()


async def test_a_batch_key_and_a_single_submit_key_are_separate(client: httpx.AsyncClient, tag: str) -> None:
    key = {"Idempotency-Key": f"shared-{tag}"}
    single = await client.post("/v1/jobs", json=specs(1, tag)[0], headers=key)
    batch = await client.post(BATCH, json={"jobs": specs(1, tag)}, headers=key)
    assert (single.status_code, batch.status_code) == (201, 201)
    assert single.json()["id"] != batch.json()["jobs"][0]["id"]


async def test_another_owner_sees_none_of_the_jobs_and_has_keys_of_its_own(
    client: httpx.AsyncClient, tag: str
) -> None:
    key = {"Idempotency-Key": f"owners-{tag}"}
    alices = (await client.post(BATCH, json={"jobs": specs(3, tag)}, headers=key)).json()["jobs"]
    for job in alices:
        assert (await client.get(f"/v1/jobs/{job['id']}", headers=BOB)).status_code == 404
    assert await listed(client, tag, headers=BOB) == []
    bobs = await client.post(BATCH, json={"jobs": specs(3, tag)}, headers={**BOB, **key})
    assert bobs.status_code == 201, bobs.text
    assert not {job["id"] for job in bobs.json()["jobs"]} & {job["id"] for job in alices}


async def test_a_full_batch_runs_to_completion_with_every_log_gapless(
    client: httpx.AsyncClient, tag: str
) -> None:
    response = await client.post(BATCH, json={"jobs": specs(MAX_BATCH_JOBS, tag, duration_seconds=1)})
    assert response.status_code == 201, response.text
    ids = [job["id"] for job in response.json()["jobs"]]
    for _ in range(600):  # up to about two minutes on a loaded machine
        if await listed_count(client, tag, "SUCCEEDED") == len(ids):
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError(f"{await listed_count(client, tag, 'SUCCEEDED')} of {len(ids)} succeeded")
    logs = await asyncio.gather(*(read_all_logs(client, job_id) for job_id in ids))
    assert all([line["seq"] for line in lines] == [0, 1, 2] for lines in logs)


async def listed_count(client: httpx.AsyncClient, tag: str, state: str) -> int:
    count, params = 0, {"label": f"tag:{tag}", "state": state, "limit": 500}
    while True:
        page = (await client.get("/v1/jobs", params=params)).json()
        count += len(page["jobs"])
        if page["next_page_token"] is None:
            return count
        params["page_token"] = page["next_page_token"]


async def test_a_follower_of_a_batch_job_gets_every_line_then_the_end(
    client: httpx.AsyncClient, tag: str
) -> None:
    response = await client.post(BATCH, json={"jobs": specs(3, tag, duration_seconds=1, log_lines=5)})
    job = response.json()["jobs"][1]
    async with client.stream("GET", f"/v1/jobs/{job['id']}/logs", params={"follow": "true"}) as stream:
        text = (await stream.aread()).decode()
    assert [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")] == [0, 1, 2, 3, 4]
    assert "event: end" in text


@pytest.mark.settings(rate_limit=5)
async def test_a_batch_costs_one_request_per_job_against_the_rate_limit(api: InProcessApi) -> None:
    batch = {"jobs": [{"name": f"r{index}"} for index in range(20)]}
    admitted = await api.client.post(BATCH, json=batch, headers=ALICE)
    assert admitted.status_code == 201, admitted.text
    refused = await api.client.get("/v1/jobs", headers=ALICE)
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) >= 3  # 15 requests in debt at 5/s
    assert (await api.client.get("/v1/jobs", headers=BOB)).status_code == 200
