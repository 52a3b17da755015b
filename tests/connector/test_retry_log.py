"""Retries of batch API calls are logged with their context: the call, the cause, which retry, the wait."""

from __future__ import annotations

import logging

import httpx
import pytest
import stamina

from tests.connector.conftest import ALICE_KEY
from tests.connector.fake_api import FakeBatchApi


def stamina_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "stamina"]


async def test_each_retry_names_the_call_its_cause_and_its_wait(
    fake_api: FakeBatchApi, caplog: pytest.LogCaptureFixture
) -> None:
    client = fake_api.client(retry_attempts=4)
    job = fake_api.add_job()
    fake_api.fail_next(
        httpx.Response(503, json={"detail": "injected fault"}, headers={"Retry-After": "0"}),
        httpx.ConnectError("connection refused"),
    )

    with caplog.at_level(logging.WARNING, logger="stamina"):
        await client.get_job(job.id, api_key=ALICE_KEY)

    assert stamina_lines(caplog) == [
        f"batch API GET /v1/jobs/{job.id}: 503 Service Unavailable; retry 1 of 3 in 0.00 s",
        f"batch API GET /v1/jobs/{job.id}: ConnectError: connection refused; retry 2 of 3 in 0.00 s",
    ]
    assert not [line for line in stamina_lines(caplog) if ALICE_KEY in line]


async def test_retries_of_other_code_are_left_as_stamina_logs_them(caplog: pytest.LogCaptureFixture) -> None:
    with stamina.set_testing(True, attempts=2), caplog.at_level(logging.WARNING, logger="stamina"):
        async for attempt in stamina.retry_context(on=ValueError):
            with attempt:
                if attempt.num == 1:
                    raise ValueError("not ours")

    assert stamina_lines(caplog) == ["stamina.retry_scheduled"]
