"""Throughput of a subject against its baseline(s), in interleaved rounds.

Each round loads every side once, in an order that rotates from round to round, so drift
on a noisy machine (another process waking, the CPU clocking down) falls on all alike.
Each round also records, per watched server, its CPU share (near 1.0: it is the
bottleneck; lower: it waited on something) and its CPU milliseconds per request, which
other load on the machine disturbs far less than requests per second.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench.loadgen import LoadResult
from bench.procs import ServerProcess, sample
from bench.report import median


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a name, the servers to watch, and one burst of load."""

    label: str
    servers: dict[str, ServerProcess]
    load: Callable[[int], Awaitable[LoadResult]]  # seconds -> one burst


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu(servers: dict[str, ServerProcess]) -> dict[str, float]:
    return {name: sample(server).cpu_seconds for name, server in servers.items()}


async def measure(side: Side, seconds: int) -> dict[str, Any]:
    """One burst of load, with what each watched server and the load generator spent on it."""
    before = _cpu(side.servers)
    own_before, children_before = time.process_time(), _children_cpu()
    result = await side.load(seconds)
    own, children = time.process_time() - own_before, _children_cpu() - children_before
    after = _cpu(side.servers)
    figures: dict[str, Any] = {**result.to_json(), "loadavg_1m": os.getloadavg()[0]}
    for name in side.servers:
        spent = after[name] - before[name]
        figures[f"{name}_cpu"] = spent / result.seconds
        figures[f"{name}_cpu_ms_per_request"] = 1000 * spent / result.ok if result.ok else None
    figures["loadgen_cpu"] = (children if result.generator == "wrk" else own) / result.seconds
    return figures


async def paired_rounds(
    subject: Side, baseline: Side, *others: Side, rounds: int, seconds: int, warmup_seconds: int = 1
) -> list[dict[str, Any]]:
    """`rounds` bursts of `seconds` on every side, after an unrecorded warm-up of each.

    Each round's `ratio` is the subject's rate over the baseline's; `others` are measured
    the same way, for reference.
    """
    sides = [subject, baseline, *others]
    for side in sides:
        await side.load(warmup_seconds)
    results: list[dict[str, Any]] = []
    for index in range(rounds):
        order = sides[index % len(sides) :] + sides[: index % len(sides)]
        row = {side.label: await measure(side, seconds) for side in order}
        row["ratio"] = row[subject.label]["rate"] / row[baseline.label]["rate"]
        results.append(row)
    return results


def median_rate(rounds: list[dict[str, Any]], label: str) -> float:
    return median([row[label]["rate"] for row in rounds])


def median_of(rounds: list[dict[str, Any]], label: str, key: str) -> float | None:
    values = [row[label][key] for row in rounds if row[label].get(key) is not None]
    return median(values) if values else None


def failures(rounds: list[dict[str, Any]], label: str) -> int:
    return sum(row[label]["failed"] for row in rounds)
