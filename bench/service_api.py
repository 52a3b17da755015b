"""Reading the batch service's state over its own API, for benchmarks that wait on jobs."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from batch_service.models import TERMINAL_STATES


async def terminal_count(client: httpx.AsyncClient) -> int:
    """Jobs in a terminal state, from `/metrics` (one GROUP BY in the service, whatever the count)."""
    text = (await client.get("/metrics")).raise_for_status().text
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "batch_jobs" and sample.labels.get("state") in TERMINAL_STATES
        )
    )


async def list_all_jobs(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every job of the client's owner, following `next_page_token` 500 at a time."""
    jobs: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"page_token": token} if token else {})}
        page = (await client.get("/v1/jobs", params=params)).raise_for_status().json()
        jobs.extend(page["jobs"])
        token = page["next_page_token"]
        if token is None:
            return jobs
