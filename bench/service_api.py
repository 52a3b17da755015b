"""Reading the batch service's state over its own API, for benchmarks that wait on jobs."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class TickHistogram:
    """`batch_scheduler_tick_seconds` as scraped: cumulative counts by bucket bound, count, sum."""

    buckets: tuple[tuple[float, float], ...]  # (upper bound, ticks at most that long), ascending
    count: float
    total: float

    def since(self, earlier: TickHistogram) -> TickHistogram:
        """The ticks between two scrapes of one process."""
        return TickHistogram(
            buckets=tuple(
                (bound, now - then)
                for (bound, now), (_, then) in zip(self.buckets, earlier.buckets, strict=True)
            ),
            count=self.count - earlier.count,
            total=self.total - earlier.total,
        )

    def quantile(self, share: float) -> float:
        """Interpolated inside its bucket, as Prometheus's `histogram_quantile` does: the
        figure is only as fine as the buckets (a p99 past the last finite bound is that bound)."""
        if self.count == 0:
            return float("nan")
        rank = share * self.count
        lower_bound, lower_count = 0.0, 0.0
        for bound, cumulative in self.buckets:
            if cumulative >= rank:
                if bound == float("inf"):
                    return lower_bound
                inside = cumulative - lower_count
                part = (rank - lower_count) / inside if inside else 1.0
                return lower_bound + (bound - lower_bound) * part
            lower_bound, lower_count = bound, cumulative
        return lower_bound


async def tick_histogram(client: httpx.AsyncClient) -> TickHistogram | None:
    """The service's scheduler tick durations so far, from `/metrics`; None from a build that
    does not time its ticks (older than the metric: the before/after comparisons run those)."""
    text = (await client.get("/metrics")).raise_for_status().text
    families = [f for f in text_string_to_metric_families(text) if f.name == "batch_scheduler_tick_seconds"]
    if not families:
        return None
    family = families[0]
    buckets = sorted(
        (float(sample.labels["le"]), sample.value)
        for sample in family.samples
        if sample.name.endswith("_bucket")
    )
    by_name = {sample.name: sample.value for sample in family.samples}
    return TickHistogram(
        buckets=tuple(buckets),
        count=by_name["batch_scheduler_tick_seconds_count"],
        total=by_name["batch_scheduler_tick_seconds_sum"],
    )
