"""The three sides of the HTTP throughput benchmarks: the service, the bare app, and bare + SQLite.

The service is judged against the bare app; "bare + SQLite" (the baseline app's `/db/`
routes) is measured in the same rounds for reference, as the floor a database-backed
endpoint in this stack can reach.
"""

from __future__ import annotations

import functools
from typing import Any

from bench.context import BenchContext
from bench.loadgen import http_load
from bench.paired import Side, failures, median_of, median_rate
from bench.procs import AUTHORIZATION, BaselineApp, BatchService

CONNECTIONS = 32
LABELS = ("service", "baseline", "bare_sqlite")


def http_sides(
    service: BatchService, baseline: BaselineApp, path: str, *, method: str = "GET", body: str | None = None
) -> tuple[Side, Side, Side]:
    """The same request (`method path`, `body`) against each side; only the service gets a key."""
    load = functools.partial(http_load, method=method, body=body, connections=CONNECTIONS)
    return (
        Side(
            "service",
            {"service": service.server},
            lambda seconds: load(f"{service.url}{path}", authorization=AUTHORIZATION, seconds=seconds),
        ),
        Side(
            "baseline",
            {"baseline": baseline.server},
            lambda seconds: load(f"{baseline.url}{path}", seconds=seconds),
        ),
        Side(
            "bare_sqlite",
            {"baseline": baseline.server},
            lambda seconds: load(f"{baseline.url}/db{path}", seconds=seconds),
        ),
    )


def http_settings(ctx: BenchContext, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """What the rounds were run with, and the medians each side reached."""
    return {
        "connections": CONNECTIONS,
        "seconds_per_round": ctx.seconds,
        "generator": rounds[0]["service"]["generator"],
        "median_rate": {label: median_rate(rounds, label) for label in LABELS},
        "median_cpu_ms_per_request": {
            "service": median_of(rounds, "service", "service_cpu_ms_per_request"),
            "baseline": median_of(rounds, "baseline", "baseline_cpu_ms_per_request"),
            "bare_sqlite": median_of(rounds, "bare_sqlite", "baseline_cpu_ms_per_request"),
        },
        "ratio_to_bare_sqlite": median_rate(rounds, "service") / median_rate(rounds, "bare_sqlite"),
        "failed_requests": {label: failures(rounds, label) for label in LABELS},
    }
