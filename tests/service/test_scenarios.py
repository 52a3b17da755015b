"""Per-job scenarios on a real `batch-service` in test mode (the kit's `batch` fixture):
polls instead of time, chosen outcomes, and faults on the job's own calls."""

from __future__ import annotations

import httpx
import pytest

from batch_testkit import BatchTestClient, by_polls, failing, scenario
from batch_testkit.jobs import job_spec


def states_of(batch: BatchTestClient, job_id: str, polls: int) -> list[str]:
    return [batch.job(job_id)["state"] for _ in range(polls)]


def test_each_state_is_seen_exactly_once_when_a_job_moves_by_polls(batch: BatchTestClient) -> None:
    job = batch.submit(log_lines=3, scenario=by_polls(running_after=1, finished_after=2))

    assert job["state"] == "QUEUED"
    assert states_of(batch, job["id"], 3) == ["QUEUED", "RUNNING", "SUCCEEDED"]
    done = batch.job(job["id"])
    assert done["outputs"] == {"result": f"output-from-{job['id']}"}
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]
    assert [line["message"] for line in batch.logs(job["id"])] == [
        f"test-job: step {n} of 3 done" for n in (1, 2, 3)
    ]


def test_running_after_two_gets_and_terminal_after_five(batch: BatchTestClient) -> None:
    job = batch.submit(log_lines=6, scenario=by_polls(running_after=2, finished_after=5))

    seen = [batch.job(job["id"]) for _ in range(6)]

    assert [j["state"] for j in seen] == ["QUEUED"] * 2 + ["RUNNING"] * 3 + ["SUCCEEDED"]
    assert [j["log_line_count"] for j in seen] == [0, 0, 0, 2, 4, 6]  # lines spread over the polls


def test_the_scheduler_never_starts_a_job_that_waits_for_polls(batch: BatchTestClient) -> None:
    job = batch.submit(duration_seconds=1, scenario=by_polls(running_after=1))

    batch.advance_clock(3600)  # an hour of scheduler ticks

    assert batch.job(job["id"])["state"] == "QUEUED"  # the first poll is answered from QUEUED
    assert batch.job(job["id"])["state"] == "RUNNING"  # and the job then runs by time
    batch.advance_clock(2)
    assert batch.job(job["id"])["state"] == "SUCCEEDED"


def test_a_job_stays_queued_for_its_queued_seconds(batch: BatchTestClient) -> None:
    job = batch.submit(duration_seconds=0, scenario=scenario(queued_seconds=600))

    batch.advance_clock(590)
    assert batch.job(job["id"])["state"] == "QUEUED"

    batch.advance_clock(20)
    started = batch.job(job["id"])
    assert started["state"] in {"RUNNING", "SUCCEEDED"}
    assert started["started_at"] > batch.job(job["id"])["created_at"]


@pytest.mark.parametrize(
    ("outcome", "state", "error", "retryable"),
    [
        ({"outcome": "FAILED", "message": "disk full on node 7"}, "FAILED", "disk full on node 7", False),
        ({"outcome": "TRANSIENT_FAILURE"}, "FAILED", "the machine running the job was lost", True),
        (
            {"outcome": "TRANSIENT_FAILURE", "message": "spot VM preempted"},
            "FAILED",
            "spot VM preempted",
            True,
        ),
        ({"outcome": "TIMED_OUT"}, "TIMED_OUT", "timed out after 300 s", False),
        ({}, "SUCCEEDED", None, False),
    ],
)
def test_a_scenario_chooses_how_the_run_ends(
    batch: BatchTestClient, outcome: dict[str, str], state: str, error: str | None, retryable: bool
) -> None:
    job = batch.submit(log_lines=2, scenario=by_polls(0, 1, **outcome))

    assert states_of(batch, job["id"], 2) == ["RUNNING", state]
    ended = batch.job(job["id"])
    assert (ended["error"], ended["retryable"]) == (error, retryable)
    last = batch.logs(job["id"])[-1]
    if state == "FAILED":
        assert (last["level"], last["message"]) == ("ERROR", f"test-job: {error}")
    else:
        assert last["level"] == "INFO"


def test_a_failure_chosen_by_time_ends_the_same_way(batch: BatchTestClient) -> None:
    job = batch.submit(duration_seconds=60, log_lines=3, scenario=scenario(outcome="TRANSIENT_FAILURE"))

    batch.advance_clock(61)

    ended = batch.job(job["id"])
    assert (ended["state"], ended["retryable"], ended["log_line_count"]) == ("FAILED", True, 3)


def test_the_first_gets_of_a_job_fail_and_do_not_count_as_polls(batch: BatchTestClient) -> None:
    get_fault = failing(times=3, status=503, retry_after_seconds=1)
    job = batch.submit(scenario=by_polls(1, 2, faults={"get": get_fault}))

    answers = [batch.http.get(f"/v1/jobs/{job['id']}", headers=batch.as_owner("alice")) for _ in range(6)]

    assert [a.status_code for a in answers] == [503, 503, 503, 200, 200, 200]
    assert [a.headers.get("Retry-After") for a in answers[:3]] == ["1", "1", "1"]
    assert "injected fault" in answers[0].json()["detail"]
    assert [a.json()["state"] for a in answers[3:]] == ["QUEUED", "RUNNING", "SUCCEEDED"]


def test_the_second_log_read_fails_once(batch: BatchTestClient) -> None:
    job = batch.submit(
        log_lines=4, scenario=by_polls(0, 1, faults={"logs": failing(from_call=2, status=500)})
    )
    states_of(batch, job["id"], 2)
    owner = batch.as_owner("alice")

    first = batch.http.get(f"/v1/jobs/{job['id']}/logs", params={"limit": 2}, headers=owner)
    token = first.json()["next_page_token"]
    second = [
        batch.http.get(f"/v1/jobs/{job['id']}/logs", params={"limit": 2, "page_token": token}, headers=owner)
        for _ in range(2)
    ]

    assert [first.status_code, *(a.status_code for a in second)] == [200, 500, 200]
    assert [line["seq"] for line in first.json()["lines"] + second[1].json()["lines"]] == [0, 1, 2, 3]
    logs_token = job["logs_token"]  # a read with the job's logs token is a read of its log too
    assert batch.http.get(
        f"/v1/jobs/{job['id']}/logs", headers={"Authorization": f"Bearer {logs_token}"}
    ).is_success


def test_a_cancel_that_times_out_is_not_done(batch: BatchTestClient) -> None:
    hang = failing(delay_seconds=1.0, drop=True)
    job = batch.submit(duration_seconds=600, scenario=scenario(faults={"cancel": hang}))
    short = httpx.Client(base_url=batch.url, timeout=0.3, headers=batch.as_owner("alice"))

    with short, pytest.raises(httpx.ReadTimeout):
        short.post(f"/v1/jobs/{job['id']}/cancel")

    assert batch.job(job["id"])["state"] in {"QUEUED", "RUNNING"}
    assert batch.cancel(job["id"])["state"] == "CANCELLED"


def test_a_dropped_connection_gives_no_answer(batch: BatchTestClient) -> None:
    job = batch.submit(scenario=scenario(faults={"get": failing(drop=True)}))

    with pytest.raises(httpx.RemoteProtocolError):
        batch.http.get(f"/v1/jobs/{job['id']}", headers=batch.as_owner("alice"))

    assert batch.job(job["id"])["id"] == job["id"]


def test_a_job_without_a_scenario_runs_by_time_however_often_it_is_read(batch: BatchTestClient) -> None:
    job = batch.submit(duration_seconds=3600, timeout_seconds=7200)

    assert {batch.job(job["id"])["state"] for _ in range(5)} <= {"QUEUED", "RUNNING"}
    batch.advance_clock(3600)
    assert batch.job(job["id"])["state"] == "SUCCEEDED"


CLASHES = [
    ({"scenario": {"running_after_polls": 3, "finished_after_polls": 2}},
     "running_after_polls and finished_after_polls"),
    ({"scenario": {"queued_seconds": 5, "finished_after_polls": 2}},
     "queued_seconds and finished_after_polls"),
    ({"duration_seconds": 3, "scenario": {"finished_after_polls": 2}},
     "duration_seconds and scenario.finished_after_polls"),
    ({"fail_message": "x", "scenario": {"outcome": "SUCCEEDED"}}, "fail_message and scenario.outcome"),
    ({"scenario": {"outcome": "TIMED_OUT"}}, "scenario.outcome TIMED_OUT and duration_seconds"),
    ({"timeout_seconds": 1, "duration_seconds": 9, "scenario": {"outcome": "SUCCEEDED"}},
     "scenario.outcome SUCCEEDED and timeout_seconds"),
    ({"scenario": {"message": "x"}}, "message and outcome"),
    ({"scenario": {"faults": {"get": {"status": 503, "drop": True}}}}, "status and drop"),
    ({"scenario": {"faults": {"cancel": {"retry_after_seconds": 1, "drop": True}}}},
     "retry_after_seconds needs a status"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "clashing"), CLASHES)
def test_a_scenario_that_contradicts_itself_is_a_422_naming_the_fields(
    batch: BatchTestClient, spec: dict[str, object], clashing: str
) -> None:
    response = batch.http.post("/v1/jobs", json=job_spec(**spec), headers=batch.as_owner("alice"))

    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert clashing in problem["msg"]


def test_the_scenario_is_part_of_the_published_schema(batch: BatchTestClient) -> None:
    schemas = batch.http.get("/openapi.json").json()["components"]["schemas"]

    assert "scenario" in schemas["JobSpec"]["properties"]
    assert set(schemas["Scenario"]["properties"]) == {
        "queued_seconds", "running_after_polls", "finished_after_polls", "outcome", "message", "faults",
    }  # fmt: skip
    assert set(schemas["JobFaults"]["properties"]) == {"get", "logs", "cancel"}
    assert "retryable" in schemas["JobPublic"]["required"]
