"""Malformed requests get a 4xx JSON error that names the problem, and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from batch_testkit.jobs import job_spec
from batch_testkit.keys import ALICE
from tests.conftest import InProcessApi

BAD_SPECS: list[tuple[dict[str, Any], str]] = [
    ({"duration_seconds": 1}, "name"),  # name missing
    (job_spec(name=""), "name"),
    (job_spec(name="x" * 201), "name"),
    (job_spec(duration_seconds=-1), "duration_seconds"),
    (job_spec(duration_seconds=86_401), "duration_seconds"),
    (job_spec(timeout_seconds=0), "timeout_seconds"),
    (job_spec(timeout_seconds=604_801), "timeout_seconds"),
    (job_spec(log_lines=-1), "log_lines"),
    (job_spec(log_lines=1_000_001), "log_lines"),
    (job_spec(labels={f"k{i}": "v" for i in range(33)}), "labels"),
    (job_spec(labels={"a:b": "v"}), "labels"),
    (job_spec(inputs=[1, 2]), "inputs"),
    (job_spec(outputs="text"), "outputs"),
    (job_spec(surprise=True), "surprise"),
    (job_spec(name="nul\x00byte"), "name"),
]


@pytest.mark.parametrize(("body", "field"), BAD_SPECS)
async def test_an_invalid_spec_is_422_naming_the_field(api: InProcessApi, body: dict, field: str) -> None:
    response = await api.client.post("/v1/jobs", json=body, headers=ALICE)
    assert response.status_code == 422
    locations = [error["loc"] for error in response.json()["detail"]]
    assert any(field in loc for loc in locations), locations
    assert (await api.client.get("/v1/jobs", headers=ALICE)).json()["jobs"] == []


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[]", b'"just a string"', b'{"name": "x", "inputs": {"v": NaN}}', b"[" * 100_000],
)
async def test_a_body_that_is_not_a_spec_object_is_4xx_json(api: InProcessApi, raw: bytes) -> None:
    response = await api.client.post(
        "/v1/jobs", content=raw, headers={**ALICE, "Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()
    assert (await api.client.get("/v1/jobs", headers=ALICE)).json()["jobs"] == []


async def test_a_body_over_one_mebibyte_is_413(api: InProcessApi) -> None:
    huge = job_spec(inputs={"blob": "x" * (1024 * 1024)})
    response = await api.client.post("/v1/jobs", json=huge, headers=ALICE)
    assert response.status_code == 413
    assert response.json() == {"detail": "Content Too Large"}
    assert (await api.client.get("/v1/jobs", headers=ALICE)).json()["jobs"] == []


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "\x7f"])
async def test_a_malformed_idempotency_key_is_422(api: InProcessApi, key: str) -> None:
    response = await api.client.post("/v1/jobs", json=job_spec(), headers={**ALICE, "Idempotency-Key": key})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "idempotency-key"]


@pytest.mark.parametrize("params", [{"state": "DONE"}, {"label": "no-colon"}, {"limit": "many"}])
async def test_bad_list_filters_are_422(api: InProcessApi, params: dict) -> None:
    response = await api.client.get("/v1/jobs", params=params, headers=ALICE)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


async def test_a_chunked_body_over_one_mebibyte_is_413(api: InProcessApi) -> None:
    async def chunks():  # no Content-Length: the size is only known while reading
        yield b'{"name": "big", "inputs": {"blob": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}}'

    response = await api.client.post(
        "/v1/jobs", content=chunks(), headers={**ALICE, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Content Too Large"}
