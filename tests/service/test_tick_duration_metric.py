"""`/metrics` times every scheduler tick, so a slow tick (many jobs, a slow disk) can be seen."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from batch_testkit.jobs import submit, wait_for_state
from batch_testkit.keys import ALICE
from batch_testkit.servers import BatchService


def tick_histogram(text: str) -> dict[str, float]:
    """The `batch_scheduler_tick_seconds` samples: `_count`, `_sum` and each bucket by its bound."""
    family = next(f for f in text_string_to_metric_families(text) if f.name == "batch_scheduler_tick_seconds")
    samples: dict[str, float] = {}
    for sample in family.samples:
        key = sample.name.removeprefix("batch_scheduler_tick_seconds")
        samples[f"{key}{{le={sample.labels['le']}}}" if "le" in sample.labels else key] = sample.value
    return samples


async def test_metrics_count_and_time_the_scheduler_ticks(batch_server: BatchService) -> None:
    async with httpx.AsyncClient(base_url=batch_server.url, headers=ALICE, timeout=30.0) as client:
        before = tick_histogram((await client.get("/metrics")).text)
        job = await submit(client, name="ticked", duration_seconds=0.5, log_lines=5)
        await wait_for_state(client, job["id"])
        after = tick_histogram((await client.get("/metrics")).text)

    assert after["_count"] > before["_count"]  # the job needed ticks to start, log and finish
    assert after["_sum"] > before["_sum"]  # and each took some time
    assert after["_bucket{le=+Inf}"] == after["_count"]
    assert after["_bucket{le=0.001}"] <= after["_bucket{le=0.1}"] <= after["_count"]
