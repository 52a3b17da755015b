"""Steering and inspecting a real `batch-service`: forcing a job's state as the scheduler
would, resetting everything but the keys, the journal of calls, and the test clock."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from batch_testkit import BatchTestClient, by_polls, run_batch_service
from batch_testkit.keys import ADMIN_KEY, ALICE, ALICE_KEY, BOB_KEY


def moment(rfc3339: str) -> datetime:
    return datetime.fromisoformat(rfc3339)


def assert_story_in_order(job: dict[str, object], lines: list[dict[str, object]]) -> None:
    """created ≤ started ≤ each line (in seq order) ≤ finished."""
    times = [job["created_at"], job["started_at"], *(line["timestamp"] for line in lines), job["finished_at"]]
    assert [moment(str(t)) for t in times] == sorted(moment(str(t)) for t in times)


@pytest.mark.parametrize("starting", ["QUEUED", "RUNNING"])
def test_forcing_success_writes_the_lines_and_outputs_the_scheduler_would(
    batch: BatchTestClient, starting: str
) -> None:
    job = batch.submit(duration_seconds=3600, log_lines=5, scenario=by_polls(running_after=2))
    if starting == "RUNNING":
        batch.force_state(job["id"], "RUNNING")

    forced = batch.force_state(job["id"], "SUCCEEDED")

    assert (forced["state"], forced["owner"], forced["log_line_count"]) == ("SUCCEEDED", "alice", 5)
    assert forced["outputs"] == {"result": f"output-from-{job['id']}"}
    seen = batch.job(job["id"])
    lines = batch.logs(job["id"])
    assert [line["seq"] for line in lines] == [0, 1, 2, 3, 4]
    assert lines[-1]["message"] == "test-job: step 5 of 5 done"
    assert_story_in_order(seen, lines)


def test_forcing_a_transient_failure(batch: BatchTestClient) -> None:
    job = batch.submit(duration_seconds=3600, log_lines=2)

    forced = batch.force_state(job["id"], "FAILED", message="node lost", retryable=True)

    assert (forced["error"], forced["retryable"], forced["outputs"]) == ("node lost", True, None)
    last = batch.logs(job["id"])[-1]
    assert (last["level"], last["message"]) == ("ERROR", "test-job: node lost")


def test_forcing_a_timeout_keeps_the_lines_due_by_the_timeout(batch: BatchTestClient) -> None:
    job = batch.submit(duration_seconds=100, timeout_seconds=50, log_lines=10)

    forced = batch.force_state(job["id"], "TIMED_OUT")

    assert (forced["state"], forced["error"], forced["log_line_count"]) == (
        "TIMED_OUT",
        "timed out after 50 s",
        5,
    )


def test_a_cancelled_job_keeps_only_its_lines(batch: BatchTestClient) -> None:
    job = batch.submit(duration_seconds=3600, log_lines=10)

    assert batch.force_state(job["id"], "CANCELLED")["log_line_count"] == 0


@pytest.mark.parametrize(
    ("first", "then", "status"),
    [("SUCCEEDED", "RUNNING", 409), ("CANCELLED", "FAILED", 409), ("RUNNING", "QUEUED", 409)],
)
def test_a_finished_job_stays_finished_and_nothing_goes_back(
    batch: BatchTestClient, first: str, then: str, status: int
) -> None:
    job = batch.submit(duration_seconds=3600)
    batch.force_state(job["id"], first)

    response = batch.http.post(
        f"/admin/v1/jobs/{job['id']}/state", json={"state": then}, headers=batch.as_admin
    )

    assert response.status_code == status
    assert batch.job(job["id"])["state"] == first


def test_forcing_an_unknown_job_or_a_message_without_failure_is_refused(batch: BatchTestClient) -> None:
    job = batch.submit()
    admin = batch.as_admin

    unknown = batch.http.post("/admin/v1/jobs/job-none/state", json={"state": "RUNNING"}, headers=admin)
    stray = batch.http.post(
        f"/admin/v1/jobs/{job['id']}/state", json={"state": "SUCCEEDED", "message": "x"}, headers=admin
    )

    assert unknown.status_code == 404
    assert stray.status_code == 422
    assert "message and retryable go with state FAILED only" in stray.json()["detail"][0]["msg"]


def test_reset_forgets_jobs_logs_rules_journal_and_clock_but_keeps_keys(batch: BatchTestClient) -> None:
    job = batch.submit(log_lines=3)
    batch.add_rule("GET", "/healthz", status=503)
    batch.advance_clock(3600)

    batch.reset()

    assert batch.journal() == []
    assert batch.rules() == []
    assert batch.clock()["offset_seconds"] == 0
    assert batch.http.get(f"/v1/jobs/{job['id']}", headers=ALICE).status_code == 404
    assert batch.http.get("/v1/jobs", headers=ALICE).json()["jobs"] == []
    assert batch.http.get("/healthz").status_code == 200
    assert batch.submit(owner="bob")["state"] == "QUEUED"  # keys still work


def test_the_journal_says_what_was_sent_and_never_a_key(batch: BatchTestClient) -> None:
    job = batch.submit(idempotency_key="attempt-1")
    batch.http.get(f"/v1/jobs/{job['id']}/logs", headers={"Authorization": f"Bearer {job['logs_token']}"})
    batch.http.get(f"/v1/jobs/{ALICE_KEY}", headers=ALICE)  # a key pasted where an id goes
    batch.http.get("/v1/jobs", headers={"Authorization": "Bearer wrong"})

    submit, logs, pasted, wrong = batch.journal()

    assert submit | {"time": None, "duration_ms": None, "seq": None} == {
        "seq": None, "time": None, "duration_ms": None, "method": "POST", "route": "/v1/jobs",
        "job_id": None, "status": 201, "owner": "alice", "credential": "api_key",
        "idempotency_key": "attempt-1", "fault": None,
    }  # fmt: skip
    assert (logs["route"], logs["job_id"], logs["owner"], logs["credential"]) == (
        "/v1/jobs/{job_id}/logs", job["id"], None, "logs_token",
    )  # fmt: skip
    assert (pasted["status"], pasted["job_id"]) == (404, None)
    assert (wrong["status"], wrong["owner"], wrong["credential"]) == (401, None, "invalid")
    assert [e["seq"] for e in (submit, logs, pasted, wrong)] == sorted(
        e["seq"] for e in (submit, logs, pasted, wrong)
    )
    text = str(batch.journal())
    for secret in (ALICE_KEY, BOB_KEY, ADMIN_KEY, job["logs_token"], "wrong"):
        assert secret not in text


def test_the_journal_keeps_the_last_n_calls(tmp_path: Path) -> None:
    with (
        run_batch_service(tmp_path, test_mode=True, env={"BATCH_JOURNAL_SIZE": "3"}) as service,
        BatchTestClient(service.url) as batch,
    ):
        ids = [batch.submit()["id"] for _ in range(2)]
        for job_id in ids:
            batch.job(job_id)
        kept = batch.journal()
        newest = batch.journal(limit=1)

    assert [(e["method"], e["job_id"]) for e in kept] == [("POST", None), ("GET", ids[0]), ("GET", ids[1])]
    assert newest == kept[-1:]


def test_advancing_the_clock_runs_an_hour_long_job_as_if_the_hour_had_passed(batch: BatchTestClient) -> None:
    job = batch.submit(duration_seconds=3600, timeout_seconds=7200, log_lines=4)

    batch.advance_clock(3600)

    done = batch.job(job["id"])
    lines = batch.logs(job["id"])
    assert done["state"] == "SUCCEEDED"
    assert done["outputs"] == {"result": f"output-from-{job['id']}"}
    started = moment(done["started_at"])
    assert [(moment(line["timestamp"]) - started).total_seconds() for line in lines] == pytest.approx(
        [900, 1800, 2700, 3600]
    )  # each line when the simulation says, a quarter hour apart
    assert (moment(done["finished_at"]) - started).total_seconds() >= 3600
    assert_story_in_order(done, lines)


def test_advancing_the_clock_reaches_a_timeout(batch: BatchTestClient) -> None:
    job = batch.submit(duration_seconds=7200, timeout_seconds=3600, log_lines=10)

    batch.advance_clock(3599)
    assert batch.job(job["id"])["state"] == "RUNNING"
    batch.advance_clock(2)

    done = batch.job(job["id"])
    assert (done["state"], done["error"], done["log_line_count"]) == (
        "TIMED_OUT",
        "timed out after 3600 s",
        5,
    )
