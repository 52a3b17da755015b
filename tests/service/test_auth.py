"""Every /v1 call is authenticated, and owners are isolated from each other."""

from __future__ import annotations

import pytest

from batch_service.settings import Settings
from batch_testkit.jobs import job_spec, read_all_logs, submit, wait_for_state
from batch_testkit.keys import ALICE, ALICE_KEY, BOB, BOB_KEY, bearer
from tests.conftest import InProcessApi


@pytest.mark.parametrize("headers", [{}, bearer("wrong"), {"Authorization": "Basic YTpi"}])
async def test_a_missing_or_wrong_key_is_401_with_a_bearer_challenge(
    api: InProcessApi, headers: dict[str, str]
) -> None:
    for response in (
        await api.client.post("/v1/jobs", json=job_spec(), headers=headers),
        await api.client.get("/v1/jobs", headers=headers),
        await api.client.get("/v1/jobs/job-x", headers=headers),
        await api.client.post("/v1/jobs/job-x/cancel", headers=headers),
        await api.client.get("/v1/jobs/job-x/logs", headers=headers),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "detail" in response.json()


async def test_another_owners_job_is_404_everywhere_and_never_listed(api: InProcessApi) -> None:
    job = await submit(api.client, headers=ALICE)
    for response in (
        await api.client.get(f"/v1/jobs/{job['id']}", headers=BOB),
        await api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=BOB),
        await api.client.get(f"/v1/jobs/{job['id']}/logs", headers=BOB),
    ):
        assert response.status_code == 404
    assert (await api.client.get("/v1/jobs", headers=BOB)).json()["jobs"] == []
    still = (await api.client.get(f"/v1/jobs/{job['id']}", headers=ALICE)).json()
    assert still["state"] != "CANCELLED"


async def test_idempotency_keys_are_scoped_per_owner(api: InProcessApi) -> None:
    alice = await api.client.post("/v1/jobs", json=job_spec(), headers={**ALICE, "Idempotency-Key": "k"})
    bob = await api.client.post("/v1/jobs", json=job_spec(), headers={**BOB, "Idempotency-Key": "k"})
    assert (alice.status_code, bob.status_code) == (201, 201)
    assert alice.json()["id"] != bob.json()["id"]


async def test_the_logs_token_reads_only_its_own_jobs_logs(api: InProcessApi) -> None:
    job = await submit(api.client, log_lines=3)
    other = await submit(api.client, log_lines=3)
    await wait_for_state(api.client, job["id"])
    token = bearer(job["logs_token"])

    assert len(await read_all_logs(api.client, job["id"], headers=token)) == 3
    assert (await api.client.get(f"/v1/jobs/{other['id']}/logs", headers=token)).status_code == 401
    assert (await api.client.get(f"/v1/jobs/{job['id']}", headers=token)).status_code == 401
    assert (await api.client.get("/v1/jobs", headers=token)).status_code == 401
    assert (await api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=token)).status_code == 401
    assert (await api.client.post("/v1/jobs", json=job_spec(), headers=token)).status_code == 401


async def test_a_forged_logs_token_is_refused(api: InProcessApi) -> None:
    job = await submit(api.client)
    forged = bearer("bjl_" + "A" * 43)
    assert (await api.client.get(f"/v1/jobs/{job['id']}/logs", headers=forged)).status_code == 401


async def test_no_key_or_token_appears_in_errors_or_metrics(api: InProcessApi) -> None:
    job = await submit(api.client)
    secrets = [ALICE_KEY, BOB_KEY, job["logs_token"]]
    bodies = [
        (await api.client.get("/v1/jobs", headers=bearer(f"{ALICE_KEY}-typo"))).text,
        (await api.client.get(f"/v1/jobs/{job['id']}/logs", headers=bearer("bjl_bad"))).text,
        (await api.client.post("/v1/jobs", json={"nope": 1}, headers=ALICE)).text,
        (await api.client.get("/metrics")).text,
        (await api.client.get("/openapi.json")).text,
    ]
    for body in bodies:
        for secret in secrets:
            assert secret not in body


@pytest.mark.settings(api_keys="", allow_anonymous=True)
async def test_anonymous_mode_needs_no_key(api: InProcessApi) -> None:
    response = await api.client.post("/v1/jobs", json=job_spec())
    assert response.status_code == 201
    listed = (await api.client.get("/v1/jobs")).json()["jobs"]
    assert [job["id"] for job in listed] == [response.json()["id"]]


def test_settings_refuse_to_load_without_keys() -> None:
    with pytest.raises(ValueError, match="BATCH_API_KEYS") as error:
        Settings(database_url="sqlite:///x.db", api_keys="")
    assert "BATCH_ALLOW_ANONYMOUS" in str(error.value)


def test_a_malformed_key_entry_is_named_by_position_not_value() -> None:
    with pytest.raises(ValueError, match="entry 2") as error:
        Settings(database_url="sqlite:///x.db", api_keys="alice:ok,no-colon-secret")
    assert "no-colon-secret" not in str(error.value)
