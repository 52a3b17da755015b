"""Log pages and the live Server-Sent Events follow."""

from __future__ import annotations

from batch_testkit.jobs import read_all_logs, submit, wait_for_state
from batch_testkit.keys import ALICE
from tests.conftest import InProcessApi
from tests.utils.sse import follow_events, line_seqs


async def test_log_seq_runs_from_zero_without_gaps_across_pages(api: InProcessApi) -> None:
    job = await submit(api.client, duration_seconds=0.5, log_lines=57)
    lines = await read_all_logs(api.client, job["id"], limit=10)
    assert [line["seq"] for line in lines] == list(range(57))
    assert lines[0]["message"] == "test-job: step 1 of 57 done"
    assert {line["level"] for line in lines} == {"INFO"}
    timestamps = [line["timestamp"] for line in lines]
    assert timestamps == sorted(timestamps)


async def test_token_is_null_only_when_terminal_and_drained(api: InProcessApi) -> None:
    job = await submit(api.client, duration_seconds=60, log_lines=2)
    await wait_for_state(api.client, job["id"], {"RUNNING"})
    running_page = (await api.client.get(f"/v1/jobs/{job['id']}/logs", headers=ALICE)).json()
    assert running_page["lines"] == []  # nothing due yet ...
    assert running_page["next_page_token"] is not None  # ... but more is coming

    finished = await submit(api.client, log_lines=5)
    await wait_for_state(api.client, finished["id"])
    first = (
        await api.client.get(f"/v1/jobs/{finished['id']}/logs", params={"limit": 5}, headers=ALICE)
    ).json()
    assert len(first["lines"]) == 5
    assert first["next_page_token"] is None


async def test_a_full_page_of_a_finished_job_still_offers_the_rest(api: InProcessApi) -> None:
    job = await submit(api.client, log_lines=6)
    await wait_for_state(api.client, job["id"])
    first = (await api.client.get(f"/v1/jobs/{job['id']}/logs", params={"limit": 4}, headers=ALICE)).json()
    assert first["next_page_token"] is not None
    rest = await api.client.get(
        f"/v1/jobs/{job['id']}/logs",
        params={"limit": 4, "page_token": first["next_page_token"]},
        headers=ALICE,
    )
    assert [line["seq"] for line in rest.json()["lines"]] == [4, 5]
    assert rest.json()["next_page_token"] is None


async def test_a_failing_job_logs_its_error_last(api: InProcessApi) -> None:
    job = await submit(api.client, log_lines=3, fail_message="out of memory")
    await wait_for_state(api.client, job["id"])
    lines = await read_all_logs(api.client, job["id"])
    assert lines[-1]["level"] == "ERROR"
    assert "out of memory" in lines[-1]["message"]


async def test_bad_log_page_tokens_are_400(api: InProcessApi) -> None:
    job = await submit(api.client)
    await submit(api.client)  # a second job, so a one-job page of the list offers a next page
    jobs_page = (await api.client.get("/v1/jobs", params={"limit": 1}, headers=ALICE)).json()
    jobs_token = jobs_page["next_page_token"]
    assert jobs_token is not None  # a real token, valid for the job list: still not a logs token
    for token in ("garbage!", "bG9nczp4", jobs_token):
        response = await api.client.get(
            f"/v1/jobs/{job['id']}/logs", params={"page_token": token}, headers=ALICE
        )
        assert response.status_code == 400, token
        assert "page_token" in response.json()["detail"]


async def test_follow_streams_every_line_then_ends(api: InProcessApi) -> None:
    job = await submit(api.client, duration_seconds=0.6, log_lines=12)
    events = await follow_events(api.client, job["id"], headers=ALICE)
    assert line_seqs(events) == list(range(12))
    kind, data = events[-1]
    assert kind == "end"
    assert data["state"] == "SUCCEEDED"


async def test_follow_resumes_after_last_event_id(api: InProcessApi) -> None:
    job = await submit(api.client, log_lines=8)
    await wait_for_state(api.client, job["id"])
    events = await follow_events(api.client, job["id"], headers={**ALICE, "Last-Event-ID": "4"})
    assert line_seqs(events) == [5, 6, 7]
