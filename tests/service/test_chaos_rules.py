"""Chaos rules on a real `batch-service`: faults on any route by method, template and owner,
with a count, a probability and a seed, listed with their hits and cleared in one call."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from batch_testkit import BatchTestClient, run_batch_service
from batch_testkit.jobs import job_spec
from batch_testkit.keys import ALICE, BOB


def submit_statuses(batch: BatchTestClient, times: int, headers: dict[str, str] = ALICE) -> list[int]:
    return [batch.http.post("/v1/jobs", json=job_spec(), headers=headers).status_code for _ in range(times)]


def test_a_rule_answers_its_status_with_retry_after_count_times(batch: BatchTestClient) -> None:
    rule = batch.add_rule("POST", "/v1/jobs", status=429, retry_after_seconds=2, count=3)

    answers = [batch.http.post("/v1/jobs", json=job_spec(), headers=ALICE) for _ in range(5)]

    assert [a.status_code for a in answers] == [429, 429, 429, 201, 201]
    assert [a.headers.get("Retry-After") for a in answers[:3]] == ["2", "2", "2"]
    assert answers[0].json()["detail"] == f"injected fault ({rule['id']}: 429 (Retry-After 2)); retry later"
    (listed,) = batch.rules()
    assert (listed["id"], listed["hits"], listed["matched"]) == (rule["id"], 3, 5)
    assert len(batch.http.get("/v1/jobs", headers=ALICE).json()["jobs"]) == 2  # faulted submits made nothing


def test_a_rule_matches_method_template_and_owner(batch: BatchTestClient) -> None:
    batch.add_rule("GET", "/v1/jobs/{job_id}", owner="bob", status=503)
    alices, bobs = batch.submit(), batch.submit(owner="bob")

    assert batch.http.get(f"/v1/jobs/{alices['id']}", headers=ALICE).status_code == 200
    assert batch.http.get(f"/v1/jobs/{bobs['id']}", headers=BOB).status_code == 503
    assert batch.http.get("/v1/jobs", headers=BOB).status_code == 200  # another template
    assert batch.http.post(f"/v1/jobs/{bobs['id']}/cancel", headers=BOB).status_code == 200  # another method


def test_a_prefix_rule_covers_every_route_under_it(batch: BatchTestClient) -> None:
    job = batch.submit()
    batch.add_rule("*", "/v1/*", status=502)

    statuses = [
        batch.http.get("/v1/jobs", headers=ALICE).status_code,
        batch.http.get(f"/v1/jobs/{job['id']}/logs", headers=ALICE).status_code,
        batch.http.get("/healthz").status_code,
    ]

    assert statuses == [502, 502, 200]


def test_a_seed_replays_the_same_faults(batch: BatchTestClient) -> None:
    def pattern(seed: int) -> list[int]:
        batch.clear_rules()
        batch.add_rule("GET", "/healthz", status=503, probability=0.5, seed=seed)
        return [batch.http.get("/healthz").status_code for _ in range(40)]

    first, replay, other = pattern(7), pattern(7), pattern(8)

    assert first == replay
    assert set(first) == {200, 503}
    assert other != first


def test_a_rule_without_a_seed_lists_the_one_it_drew(batch: BatchTestClient) -> None:
    drawn = batch.add_rule("GET", "/healthz", status=503, probability=0.5)["seed"]
    first = [batch.http.get("/healthz").status_code for _ in range(30)]
    batch.clear_rules()
    batch.add_rule("GET", "/healthz", status=503, probability=0.5, seed=drawn)

    assert [batch.http.get("/healthz").status_code for _ in range(30)] == first


def test_a_rule_can_add_latency_and_let_the_call_through(batch: BatchTestClient) -> None:
    rule = batch.add_rule("GET", "/v1/jobs", delay_seconds=0.3, count=1)

    statuses = [batch.http.get("/v1/jobs", headers=ALICE).status_code for _ in range(2)]
    delayed, after = batch.journal()[-2:]

    assert statuses == [200, 200]
    assert delayed["duration_ms"] >= 300  # the delay is a floor, whatever the machine's load
    assert delayed["fault"] == f"{rule['id']}: delay 0.3 s"
    assert after["fault"] is None


def test_a_rule_can_drop_the_connection(batch: BatchTestClient) -> None:
    rule = batch.add_rule("GET", "/v1/jobs", drop=True, count=1)

    with pytest.raises(httpx.RemoteProtocolError):
        batch.http.get("/v1/jobs", headers=ALICE)

    assert batch.http.get("/v1/jobs", headers=ALICE).status_code == 200
    dropped = batch.journal()[-2]
    assert (dropped["route"], dropped["status"], dropped["fault"]) == (
        "/v1/jobs",
        None,
        f"{rule['id']}: drop",
    )


def test_rules_are_cleared_in_one_call(batch: BatchTestClient) -> None:
    batch.add_rule("POST", "/v1/jobs", status=500)
    batch.add_rule("GET", "/healthz", status=500)

    batch.clear_rules()

    assert batch.rules() == []
    assert submit_statuses(batch, 1) == [201]
    assert batch.http.get("/healthz").status_code == 200


def test_a_rule_for_a_route_that_does_not_exist_is_a_422(batch: BatchTestClient) -> None:
    response = batch.http.post(
        "/admin/v1/rules",
        json={"route": "/v1/job/{job_id}", "action": {"status": 500}},
        headers=batch.as_admin,
    )

    assert response.status_code == 422
    assert "/v1/jobs/{job_id}" in response.json()["detail"][0]["msg"]  # it lists the real ones


def test_fault_rate_is_the_shorthand_for_a_rule(tmp_path: Path) -> None:
    with (
        run_batch_service(tmp_path, test_mode=True, env={"BATCH_FAULT_RATE": "1"}) as service,
        BatchTestClient(service.url) as batch,
    ):
        answers = [batch.http.post("/v1/jobs", json=job_spec(), headers=ALICE) for _ in range(3)]
        (rule,) = batch.rules()
        batch.clear_rules()
        after = submit_statuses(batch, 1)

    assert [(a.status_code, a.headers["Retry-After"]) for a in answers] == [(503, "1")] * 3
    assert (rule["id"], rule["route"], rule["probability"]) == ("BATCH_FAULT_RATE", "/v1/*", 1.0)
    assert rule["hits"] == 3
    assert after == [201]
