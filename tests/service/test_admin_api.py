"""Who may steer the service: `/admin/v1` exists only with an admin key, owner keys never
reach it, no admin key leaks, and the test clock exists only in test mode."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from batch_testkit import BatchTestClient, run_batch_service
from batch_testkit.keys import ADMIN, ADMIN_KEY, ALICE, ALICE_KEY
from batch_testkit.processes import base_env
from batch_testkit.servers import BIN_DIR

ADMIN_CALLS = [
    ("GET", "/admin/v1/rules"),
    ("DELETE", "/admin/v1/rules"),
    ("GET", "/admin/v1/journal"),
    ("POST", "/admin/v1/reset"),
    ("GET", "/admin/v1/clock"),
]


def test_without_an_admin_key_the_admin_api_does_not_exist(tmp_path: Path) -> None:
    with run_batch_service(tmp_path) as service, httpx.Client(base_url=service.url) as http:
        answers = [http.request(method, path, headers=ADMIN).status_code for method, path in ADMIN_CALLS]
        assert (
            http.post("/v1/jobs", json={"name": "x"}, headers=ALICE).status_code == 201
        )  # reset did nothing

    assert answers == [404] * len(ADMIN_CALLS)


def test_owner_keys_and_wrong_keys_never_reach_the_admin_api(batch: BatchTestClient) -> None:
    for headers in (ALICE, {"Authorization": "Bearer not-a-key"}, {}):
        for method, path in ADMIN_CALLS:
            response = batch.http.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["WWW-Authenticate"] == "Bearer"
    assert batch.http.get("/admin/v1/rules", headers=ADMIN).status_code == 200


def test_the_clock_exists_only_in_test_mode(tmp_path: Path) -> None:
    with (
        run_batch_service(tmp_path, admin_keys=ADMIN_KEY) as service,
        httpx.Client(base_url=service.url, headers=ADMIN) as http,
    ):
        clock = [
            http.get("/admin/v1/clock").status_code,
            http.post("/admin/v1/clock/advance", json={"seconds": 1}).status_code,
        ]
        rules = http.get("/admin/v1/rules").status_code
        scenario = http.post("/v1/jobs", json={"name": "x", "scenario": {}}, headers=ALICE)

    assert clock == [404, 404]
    assert rules == 200  # the rest of the admin API needs no test mode
    assert scenario.status_code == 422
    assert scenario.json()["detail"][0]["loc"] == ["body", "scenario"]
    assert "BATCH_TEST_MODE" in scenario.json()["detail"][0]["msg"]


def test_an_admin_key_that_is_also_an_owner_key_is_refused_at_start() -> None:
    env = base_env({"BATCH_API_KEYS": f"alice:{ALICE_KEY}", "BATCH_ADMIN_KEYS": f"other-key,{ALICE_KEY}"})
    done = subprocess.run(
        [str(BIN_DIR / "batch-service")], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 2
    assert "BATCH_ADMIN_KEYS is also an owner's key" in done.stderr
    assert ALICE_KEY not in done.stderr + done.stdout


def test_no_admin_key_appears_in_logs_errors_or_metrics(tmp_path: Path) -> None:
    with run_batch_service(tmp_path, test_mode=True, env={"BATCH_LOG_LEVEL": "debug"}) as service:
        with BatchTestClient(service.url) as batch:
            job = batch.submit()
            batch.add_rule("GET", "/healthz", status=503, count=1)
            errors = [
                batch.http.post("/admin/v1/rules", json={"route": "/nowhere"}, headers=ADMIN).text,
                batch.http.post("/admin/v1/jobs/job-x/state", json={"state": "RUNNING"}, headers=ADMIN).text,
                batch.http.get("/admin/v1/rules", headers={"Authorization": f"Bearer {ADMIN_KEY}x"}).text,
            ]
            batch.force_state(job["id"], "SUCCEEDED")
            batch.advance_clock(10)
            journal = str(batch.journal())
            metrics = batch.http.get("/metrics").text
        log = service.server.log()

    assert "/admin/v1/rules" in metrics  # admin calls are counted, by route template
    for text in (*errors, journal, metrics, log):
        assert ADMIN_KEY not in text
        assert ALICE_KEY not in text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_admin_calls_are_never_faulted_by_rules(batch: BatchTestClient, method: str) -> None:
    response = batch.http.post(
        "/admin/v1/rules",
        json={"route": "/admin/v1/rules", "method": method, "action": {"status": 500}},
        headers=ADMIN,
    )

    assert response.status_code == 422
    assert "the admin API is never faulted" in response.json()["detail"][0]["msg"]
