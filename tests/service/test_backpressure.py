"""`BATCH_RATE_LIMIT` answers 429 and `BATCH_FAULT_RATE` answers 503, both with Retry-After."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_service.ratelimit import RateLimiter
from batch_service.store.jobs import count_jobs_by_state
from batch_testkit.jobs import job_spec
from batch_testkit.keys import ALICE, BOB
from tests.conftest import InProcessApi


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: limits and faults are decided before any request reaches the database."""
    return f"sqlite:///{tmp_path / 'batch.db'}"


@pytest.mark.settings(rate_limit=2)
async def test_the_rate_limit_answers_429_per_key(api: InProcessApi) -> None:
    statuses = [(await api.client.get("/v1/jobs", headers=ALICE)).status_code for _ in range(6)]
    assert statuses[:2] == [200, 200]
    assert 429 in statuses
    limited = await api.client.get("/v1/jobs", headers=ALICE)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "rate limit" in limited.json()["detail"]
    assert (await api.client.get("/v1/jobs", headers=BOB)).status_code == 200  # Bob has his own budget


async def test_without_a_rate_limit_nobody_is_limited(api: InProcessApi) -> None:
    statuses = {(await api.client.get("/v1/jobs", headers=ALICE)).status_code for _ in range(50)}
    assert statuses == {200}


def test_the_bucket_refills_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter(1, clock=lambda: now[0])
    assert limiter.retry_after(b"k") is None
    assert limiter.retry_after(b"k") == 1
    now[0] = 1.0
    assert limiter.retry_after(b"k") is None


@pytest.mark.settings(fault_rate=1.0)
async def test_every_call_fails_at_fault_rate_one_and_nothing_changes(api: InProcessApi) -> None:
    response = await api.client.post("/v1/jobs", json=job_spec(), headers=ALICE)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "BATCH_FAULT_RATE" in response.json()["detail"]
    assert (await api.client.get("/healthz")).status_code == 200  # only /v1 is faulty
    assert sum((await api.app.state.services.db.read(count_jobs_by_state)).values()) == 0


@pytest.mark.settings(fault_rate=0.3)
async def test_a_fault_rate_fails_a_share_of_calls(api: InProcessApi) -> None:
    statuses = [(await api.client.get("/v1/jobs", headers=ALICE)).status_code for _ in range(200)]
    failures = statuses.count(503)
    assert statuses.count(200) + failures == 200
    assert 20 <= failures <= 100  # 30 % of 200, with a wide margin for chance
