"""Submitting, describing, listing and cancelling jobs through the v1 API."""

from __future__ import annotations

import asyncio

import pytest

from batch_testkit.jobs import job_spec, read_all_logs, submit, wait_for_state
from batch_testkit.keys import ALICE
from tests.conftest import InProcessApi


async def test_submit_returns_the_job_and_a_logs_token(api: InProcessApi) -> None:
    response = await api.client.post("/v1/jobs", json=job_spec(name="hello", inputs={"x": 1}), headers=ALICE)
    assert response.status_code == 201
    job = response.json()
    assert job["state"] == "QUEUED"
    assert job["name"] == "hello"
    assert job["inputs"] == {"x": 1}
    assert job["spec"]["timeout_seconds"] == 300
    assert job["logs_token"].startswith("bjl_")
    assert job["outputs"] is None and job["error"] is None


async def test_describe_never_shows_the_logs_token(api: InProcessApi) -> None:
    job = await submit(api.client)
    described = (await api.client.get(f"/v1/jobs/{job['id']}", headers=ALICE)).json()
    listed = (await api.client.get("/v1/jobs", headers=ALICE)).json()["jobs"]
    cancelled = (await api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=ALICE)).json()
    for shown in (described, *listed, cancelled):
        assert "logs_token" not in shown


async def test_a_job_succeeds_with_default_outputs(api: InProcessApi) -> None:
    job = await submit(api.client, log_lines=3)
    done = await wait_for_state(api.client, job["id"])
    assert done["state"] == "SUCCEEDED"
    assert done["outputs"] == {"result": f"output-from-{job['id']}"}
    assert done["log_line_count"] == 3
    assert done["started_at"] is not None and done["finished_at"] is not None


async def test_a_job_succeeds_with_the_outputs_it_asked_for(api: InProcessApi) -> None:
    job = await submit(api.client, outputs={"result": "custom", "n": 3})
    assert (await wait_for_state(api.client, job["id"]))["outputs"] == {"result": "custom", "n": 3}


async def test_a_failing_job_ends_failed_with_its_message(api: InProcessApi) -> None:
    job = await submit(api.client, fail_message="disk on fire")
    done = await wait_for_state(api.client, job["id"])
    assert (done["state"], done["error"], done["outputs"]) == ("FAILED", "disk on fire", None)


async def test_a_job_longer_than_its_timeout_times_out(api: InProcessApi) -> None:
    job = await submit(api.client, duration_seconds=30, timeout_seconds=1, log_lines=30)
    done = await wait_for_state(api.client, job["id"])
    assert done["state"] == "TIMED_OUT"
    assert done["error"] == "timed out after 1 s"
    assert done["log_line_count"] == 1  # one second of a thirty-second, thirty-line run


async def test_same_idempotency_key_and_spec_replays_the_job(api: InProcessApi) -> None:
    headers = {**ALICE, "Idempotency-Key": "attempt-1"}
    first = await api.client.post("/v1/jobs", json=job_spec(), headers=headers)
    again = await api.client.post("/v1/jobs", json=job_spec(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["logs_token"] == first.json()["logs_token"]


async def test_same_idempotency_key_with_another_spec_conflicts(api: InProcessApi) -> None:
    headers = {**ALICE, "Idempotency-Key": "attempt-1"}
    await api.client.post("/v1/jobs", json=job_spec(name="a"), headers=headers)
    response = await api.client.post("/v1/jobs", json=job_spec(name="b"), headers=headers)
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["detail"]


async def test_concurrent_submits_with_one_key_create_exactly_one_job(api: InProcessApi) -> None:
    headers = {**ALICE, "Idempotency-Key": "one-key-many-calls"}
    responses = await asyncio.gather(
        *(api.client.post("/v1/jobs", json=job_spec(), headers=headers) for _ in range(200))
    )
    assert sorted({r.status_code for r in responses}) == [200, 201]
    assert [r.status_code for r in responses].count(201) == 1
    assert len({r.json()["id"] for r in responses}) == 1
    listed = (await api.client.get("/v1/jobs", headers=ALICE, params={"limit": 500})).json()["jobs"]
    assert len(listed) == 1


async def test_list_is_newest_first_and_filters_by_state_and_label(api: InProcessApi) -> None:
    red = await submit(api.client, labels={"colour": "red", "team": "a"})
    blue = await submit(api.client, labels={"colour": "blue", "team": "a"})
    failing = await submit(api.client, labels={"colour": "red"}, fail_message="no")
    await wait_for_state(api.client, failing["id"])
    await wait_for_state(api.client, red["id"])

    async def ids(**params: object) -> list[str]:
        response = await api.client.get("/v1/jobs", params=params, headers=ALICE)
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()["jobs"]]

    assert await ids() == [failing["id"], blue["id"], red["id"]]
    assert await ids(label="colour:red") == [failing["id"], red["id"]]
    assert await ids(label=["colour:red", "team:a"]) == [red["id"]]
    assert await ids(state="FAILED") == [failing["id"]]
    assert await ids(state="FAILED", label="colour:blue") == []


async def test_list_pages_are_stable_while_new_jobs_arrive(api: InProcessApi) -> None:
    first_five = [await submit(api.client, name=f"job-{i}") for i in range(5)]
    page_one = (await api.client.get("/v1/jobs", params={"limit": 2}, headers=ALICE)).json()
    await submit(api.client, name="arrives-between-pages")
    seen = [job["id"] for job in page_one["jobs"]]
    token = page_one["next_page_token"]
    while token:
        page = (
            await api.client.get("/v1/jobs", params={"limit": 2, "page_token": token}, headers=ALICE)
        ).json()
        seen += [job["id"] for job in page["jobs"]]
        token = page["next_page_token"]
    assert seen == [job["id"] for job in reversed(first_five)]


async def test_list_rejects_a_bad_page_token_and_limit(api: InProcessApi) -> None:
    bad_token = await api.client.get("/v1/jobs", params={"page_token": "not-a-token"}, headers=ALICE)
    assert bad_token.status_code == 400
    assert "page_token" in bad_token.json()["detail"]
    for limit in (0, 501):
        response = await api.client.get("/v1/jobs", params={"limit": limit}, headers=ALICE)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "limit"]


@pytest.mark.settings(max_running=1)
async def test_cancel_a_queued_job(api: InProcessApi) -> None:
    blocker = await submit(api.client, duration_seconds=600)
    await wait_for_state(api.client, blocker["id"], {"RUNNING"})
    job = await submit(api.client, duration_seconds=0.1)
    # The one slot is taken, so this job is QUEUED for as long as the blocker runs.
    assert (await api.client.get(f"/v1/jobs/{job['id']}", headers=ALICE)).json()["state"] == "QUEUED"

    response = await api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=ALICE)
    assert response.status_code == 200
    cancelled = response.json()
    assert cancelled["state"] == "CANCELLED"
    assert cancelled["finished_at"] is not None and cancelled["started_at"] is None

    # Free the slot; the next queued job runs to its end, so the scheduler has passed over the
    # cancelled one, which never started.
    await api.client.post(f"/v1/jobs/{blocker['id']}/cancel", headers=ALICE)
    later = await submit(api.client, duration_seconds=0.1)
    assert (await wait_for_state(api.client, later["id"]))["state"] == "SUCCEEDED"
    assert (await api.client.get(f"/v1/jobs/{job['id']}", headers=ALICE)).json() == cancelled


async def test_cancel_a_running_job_stops_its_log(api: InProcessApi) -> None:
    job = await submit(api.client, duration_seconds=60, log_lines=600)
    await wait_for_state(api.client, job["id"], {"RUNNING"})
    cancelled = (await api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=ALICE)).json()
    assert cancelled["state"] == "CANCELLED"

    # A job submitted after the cancel runs and writes its whole log: the scheduler has kept
    # writing lines since, and none of them went to the cancelled job.
    witness = await submit(api.client, duration_seconds=0.5, log_lines=10)
    assert (await wait_for_state(api.client, witness["id"]))["log_line_count"] == 10
    later = (await api.client.get(f"/v1/jobs/{job['id']}", headers=ALICE)).json()
    assert later == cancelled
    lines = await read_all_logs(api.client, job["id"])
    assert [line["seq"] for line in lines] == list(range(cancelled["log_line_count"]))


async def test_cancel_is_idempotent(api: InProcessApi) -> None:
    job = await submit(api.client, duration_seconds=60)
    first = (await api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=ALICE)).json()
    second = await api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=ALICE)
    assert second.status_code == 200
    assert second.json() == first


async def test_cancel_of_a_finished_job_returns_it_unchanged(api: InProcessApi) -> None:
    job = await submit(api.client)
    done = await wait_for_state(api.client, job["id"])
    response = await api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=ALICE)
    assert response.status_code == 200
    assert response.json() == done


async def test_unknown_job_is_404(api: InProcessApi) -> None:
    for response in (
        await api.client.get("/v1/jobs/job-nope", headers=ALICE),
        await api.client.post("/v1/jobs/job-nope/cancel", headers=ALICE),
        await api.client.get("/v1/jobs/job-nope/logs", headers=ALICE),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "job not found"}


async def test_concurrent_submits_without_a_key_each_make_their_own_job(api: InProcessApi) -> None:
    responses = await asyncio.gather(
        *(
            api.client.post("/v1/jobs", json=job_spec(name=f"n{i}", labels={"i": str(i)}), headers=ALICE)
            for i in range(60)
        )
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 60
    assert {r.json()["logs_token"] for r in responses} == {
        api.app.state.services.logs_tokens.token_for(r.json()["id"]) for r in responses
    }
    listed = (await api.client.get("/v1/jobs", params={"limit": 500}, headers=ALICE)).json()["jobs"]
    assert sorted(job["name"] for job in listed) == sorted(f"n{i}" for i in range(60))
    seventh = (await api.client.get("/v1/jobs", params={"label": "i:7"}, headers=ALICE)).json()["jobs"]
    assert [job["name"] for job in seventh] == ["n7"]
