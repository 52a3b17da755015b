"""A lone surrogate is refused up front; nothing the service accepts becomes unreadable.

The attack (issue #9.2): `{"name": "ok", "inputs": {"k": "\\udfff"}}` was stored, answered
500, and from then on every read of that job and every list page holding it answered 500
(and the connector's idempotent retries replayed the 500).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from batch_testkit.keys import ALICE
from batch_testkit.servers import BatchService, run_batch_service

LONE = "\\udfff"  # as the JSON escape a client sends: json.loads turns it into one lone surrogate
BODIES = {
    "inputs value": ('{"name": "ok", "inputs": {"k": "%s"}}', "inputs"),
    "outputs value": ('{"name": "ok", "outputs": {"k": "%s"}}', "outputs"),
    "inputs key": ('{"name": "ok", "inputs": {"%s": 1}}', "inputs"),
    "nested key": ('{"name": "ok", "inputs": {"a": [{"b": {"%s": 1}}]}}', "inputs"),
    "name": ('{"name": "ok%s"}', "name"),
    "label key": ('{"name": "ok", "labels": {"k%s": "v"}}', "labels"),
    "label value": ('{"name": "ok", "labels": {"k": "v%s"}}', "labels"),
    "fail_message": ('{"name": "ok", "fail_message": "%s"}', "fail_message"),
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BatchService]:
    with run_batch_service(tmp_path_factory.mktemp("unicode")) as running:
        yield running


@pytest.fixture
async def client(service: BatchService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:
        yield http


@pytest.mark.parametrize("idempotency_key", [None, "retry-safe"])
@pytest.mark.parametrize("where", BODIES)
async def test_a_lone_surrogate_is_422_and_nothing_is_stored(
    client: httpx.AsyncClient, where: str, idempotency_key: str | None
) -> None:
    template, field = BODIES[where]
    headers = {**ALICE, "Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = f"{idempotency_key}-{where}"
    response = await client.post("/v1/jobs", content=template % LONE, headers=headers)
    assert response.status_code == 422, response.text
    assert any(field in problem["loc"] for problem in response.json()["detail"])
    listed = await client.get("/v1/jobs", headers=ALICE)
    assert listed.status_code == 200
    assert [job["name"] for job in listed.json()["jobs"] if job["name"].startswith("ok")] == []


async def test_a_surrogate_pair_is_text_and_reads_back_unchanged(client: httpx.AsyncClient) -> None:
    smile = "\\ud83d\\ude00"  # one character, sent as its two (paired) surrogate escapes
    body = f'{{"name": "pair {smile}", "inputs": {{"{smile}": "{smile}"}}}}'
    created = await client.post(
        "/v1/jobs", content=body, headers={**ALICE, "Content-Type": "application/json"}
    )
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    described = await client.get(f"/v1/jobs/{job_id}", headers=ALICE)
    assert described.status_code == 200
    assert (described.json()["name"], described.json()["inputs"]) == ("pair 😀", {"😀": "😀"})
    listed = await client.get("/v1/jobs", headers=ALICE)
    assert listed.status_code == 200
    assert job_id in [job["id"] for job in listed.json()["jobs"]]
