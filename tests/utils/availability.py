"""Checks for a service whose database is failing: the answers it must give meanwhile."""

from __future__ import annotations

import asyncio

import httpx


def assert_unavailable(response: httpx.Response) -> None:
    """A storage failure as the API promises it: JSON 503 with a whole-seconds Retry-After."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"]
    assert response.headers["retry-after"].isdigit()


async def readiness(client: httpx.AsyncClient) -> tuple[int, str]:
    response = await client.get("/readyz")
    return response.status_code, response.json().get("detail", "")


async def wait_for_readiness(client: httpx.AsyncClient, status: int, detail: str = "") -> None:
    """Poll /readyz until it answers `status` with `detail` in its reasons (30 s at most)."""
    last = (0, "")
    for _ in range(300):
        last = await readiness(client)
        if last[0] == status and detail in last[1]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"/readyz never answered {status} with {detail!r}; last: {last}")
