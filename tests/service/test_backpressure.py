"""`BATCH_RATE_LIMIT` answers 429 and `BATCH_FAULT_RATE` answers 503, both with Retry-After."""

from __future__ import annotations

import pytest

from batch_service.ratelimit import RateLimiter
from batch_service.settings import Settings
from tests.conftest import InProcessApi, make_settings
from tests.utils.jobs import ALICE, BOB, job_spec

LIMITED = {"test_the_rate_limit_answers_429_per_key": {"rate_limit": 2}}
FAULTY = {
    "test_every_call_fails_at_fault_rate_one_and_nothing_changes": {"fault_rate": 1.0},
    "test_a_fault_rate_fails_a_share_of_calls": {"fault_rate": 0.3},
}


@pytest.fixture
def api_settings(tmp_path, request: pytest.FixtureRequest) -> Settings:
    name = request.function.__name__
    return make_settings(f"sqlite:///{tmp_path / 'b.db'}", **LIMITED.get(name, {}), **FAULTY.get(name, {}))


async def test_the_rate_limit_answers_429_per_key(api: InProcessApi) -> None:
    statuses = [(await api.client.get("/v1/jobs", headers=ALICE)).status_code for _ in range(6)]
    assert statuses[:2] == [200, 200]
    assert 429 in statuses
    limited = await api.client.get("/v1/jobs", headers=ALICE)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "rate limit" in limited.json()["detail"]
    assert (await api.client.get("/v1/jobs", headers=BOB)).status_code == 200  # Bob has his own budget


def test_the_bucket_refills_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter(1, clock=lambda: now[0])
    assert limiter.retry_after(b"k") is None
    assert limiter.retry_after(b"k") == 1
    now[0] = 1.0
    assert limiter.retry_after(b"k") is None


async def test_every_call_fails_at_fault_rate_one_and_nothing_changes(api: InProcessApi) -> None:
    response = await api.client.post("/v1/jobs", json=job_spec(), headers=ALICE)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "BATCH_FAULT_RATE" in response.json()["detail"]
    assert (await api.client.get("/healthz")).status_code == 200  # only /v1 is faulty
    services = api.app.state.services
    from batch_service.store.jobs import count_jobs_by_state

    assert sum((await services.db.read(count_jobs_by_state)).values()) == 0


async def test_a_fault_rate_fails_a_share_of_calls(api: InProcessApi) -> None:
    statuses = [(await api.client.get("/v1/jobs", headers=ALICE)).status_code for _ in range(200)]
    failures = statuses.count(503)
    assert statuses.count(200) + failures == 200
    assert 20 <= failures <= 100  # 30 % of 200, with a wide margin for chance
