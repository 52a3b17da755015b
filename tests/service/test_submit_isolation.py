"""One caller's submit can never fail another's, even when they share a group commit.

The attack (issue #9.1): inputs nested 400 deep passed validation and then broke the
serialization of the whole shared batch, so most of another owner's concurrent submits
got 500. Limits now refuse such a spec at the door, and a batch that fails anyway is
retried job by job so that only the culprit fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from batch_service.db import Database
from batch_service.models import JobSpec
from batch_service.spec_limits import MAX_JSON_BYTES, MAX_JSON_DEPTH
from batch_service.store import jobs as job_store
from batch_service.store.submissions import JobSubmitter
from batch_testkit.keys import ALICE, BOB
from batch_testkit.servers import BatchService, run_batch_service

CONCURRENT = 40


def nested(levels: int) -> dict[str, Any]:
    """An object `levels` deep: {"a": {"a": ... 1}}."""
    value: Any = 1
    for _ in range(levels - 1):
        value = {"a": value}
    return {"a": value}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BatchService]:
    with run_batch_service(tmp_path_factory.mktemp("isolation")) as running:
        yield running


@pytest.fixture
async def client(service: BatchService) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=CONCURRENT + 1)
    async with httpx.AsyncClient(base_url=service.url, timeout=30, limits=limits) as http:
        yield http


async def test_a_deeply_nested_submit_fails_alone_and_says_the_limit(client: httpx.AsyncClient) -> None:
    attack = {"name": "d", "inputs": {"x": nested(400)}}
    for round_number in range(3):
        responses = await asyncio.gather(
            *(
                client.post("/v1/jobs", json={"name": f"bob-{round_number}-{i}"}, headers=BOB)
                for i in range(CONCURRENT // 2)
            ),
            client.post("/v1/jobs", json=attack, headers=ALICE),
            *(
                client.post("/v1/jobs", json={"name": f"bob-{round_number}-{i}"}, headers=BOB)
                for i in range(CONCURRENT // 2, CONCURRENT)
            ),
        )
        refused = responses.pop(CONCURRENT // 2)
        assert refused.status_code == 422
        (problem,) = refused.json()["detail"]
        assert problem["loc"] == ["body", "inputs"]
        assert f"deeper than {MAX_JSON_DEPTH} levels" in problem["msg"]
        assert [response.status_code for response in responses] == [201] * CONCURRENT
        for response in responses:
            stored = await client.get(f"/v1/jobs/{response.json()['id']}", headers=BOB)
            assert stored.status_code == 200
    alices = (await client.get("/v1/jobs", headers=ALICE)).json()["jobs"]
    assert [job for job in alices if job["name"] == "d"] == []


@pytest.mark.parametrize("field", ["inputs", "outputs"])
async def test_nesting_is_accepted_up_to_the_depth_limit(client: httpx.AsyncClient, field: str) -> None:
    deepest = {"name": "deep", field: nested(MAX_JSON_DEPTH)}  # the field's own object is level 1
    accepted = await client.post("/v1/jobs", json=deepest, headers=ALICE)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["spec"][field] == deepest[field]
    too_deep = await client.post(
        "/v1/jobs", json={"name": "deep", field: nested(MAX_JSON_DEPTH + 1)}, headers=ALICE
    )
    assert too_deep.status_code == 422
    assert too_deep.json()["detail"][0]["loc"] == ["body", field]


@pytest.mark.parametrize("field", ["inputs", "outputs"])
async def test_a_document_over_the_size_limit_is_422(client: httpx.AsyncClient, field: str) -> None:
    filler = MAX_JSON_BYTES - len('{"blob":""}')
    at_limit = await client.post(
        "/v1/jobs", json={"name": "big", field: {"blob": "x" * filler}}, headers=ALICE
    )
    assert at_limit.status_code == 201, at_limit.text
    over = await client.post("/v1/jobs", json={"name": "big", field: {"blob": "é" * filler}}, headers=ALICE)
    assert over.status_code == 422
    (problem,) = over.json()["detail"]
    assert problem["loc"] == ["body", field]
    assert f"the limit is {MAX_JSON_BYTES} bytes" in problem["msg"]


async def test_a_batch_that_fails_is_retried_job_by_job_so_only_the_culprit_fails(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job the database refuses for a reason validation cannot see: a duplicate job id."""
    ids = iter([f"job-{i:024x}" for i in range(20)] + ["job-" + "0" * 24])
    monkeypatch.setattr(job_store, "new_job_id", lambda: next(ids))
    submitter = JobSubmitter(db)
    outcomes = await asyncio.gather(
        *(
            submitter.submit(owner=owner, spec=JobSpec(name=name), idempotency_key=None, now=1.0)
            for owner, name in [*(("bob", f"ok-{i}") for i in range(20)), ("mallory", "dup")]
        ),
        return_exceptions=True,
    )
    *good, culprit = outcomes
    assert [outcome.job["name"] for outcome in good] == [f"ok-{i}" for i in range(20)]
    assert isinstance(culprit, IntegrityError)
    stored = await db.read(job_store.list_jobs, owner="bob", state=None, labels=[], before_pk=None, limit=100)
    assert len(stored) == 20
    assert (
        await db.read(job_store.list_jobs, owner="mallory", state=None, labels=[], before_pk=None, limit=1)
        == []
    )
