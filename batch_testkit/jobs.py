"""Async helpers for talking to the batch API as an owner: a quick job spec, submitting,
waiting for a state, reading a whole log. (`BatchTestClient` does the same synchronously.)"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

import httpx

from batch_service.models import TERMINAL_STATES
from batch_testkit.keys import ALICE


def job_spec(**overrides: Any) -> dict[str, Any]:
    """A job that finishes in a moment with a few lines, unless `overrides` say otherwise
    (a run that ends by polls has no duration)."""
    ends_by_polls = (overrides.get("scenario") or {}).get("finished_after_polls") is not None
    timing = {} if ends_by_polls else {"duration_seconds": 0.2}
    return {"name": "test-job", "log_lines": 4, **timing, **overrides}


async def submit(client: httpx.AsyncClient, headers: dict[str, str] = ALICE, **spec: Any) -> dict[str, Any]:
    response = await client.post("/v1/jobs", json=job_spec(**spec), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def wait_for_state(
    client: httpx.AsyncClient,
    job_id: str,
    states: Collection[str] = TERMINAL_STATES,
    headers: dict[str, str] = ALICE,
    within: float = 30.0,
) -> dict[str, Any]:
    """Poll until the job is in one of `states`; fail with the last seen job otherwise."""
    deadline = asyncio.get_running_loop().time() + within
    job: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        response = await client.get(f"/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        job = response.json()
        if job["state"] in states:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {' or '.join(sorted(states))}; last seen: {job}")


async def read_all_logs(
    client: httpx.AsyncClient, job_id: str, headers: dict[str, str] = ALICE, limit: int = 100
) -> list[dict[str, Any]]:
    """Follow next_page_token until the service says the log is complete (token null)."""
    lines: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if token:
            params["page_token"] = token
        response = await client.get(f"/v1/jobs/{job_id}/logs", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        lines.extend(page["lines"])
        token = page["next_page_token"]
        if token is None:
            return lines
        if not page["lines"]:
            await asyncio.sleep(0.05)
