"""What a benchmark hands back, how it is judged, and how it is written down.

Every benchmark measures its subject and its baseline in the same run, round by round,
and is judged on the medians: on a 2-core machine single rounds are noisy, and a ratio
to a baseline measured minutes earlier (or on another day) means little.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Comparison = Literal[">=", "<="]


@dataclass(frozen=True)
class Check:
    """One target: `value op threshold`, e.g. a ratio of 0.62 `>=` 0.5."""

    name: str
    value: float
    op: Comparison
    threshold: float

    @property
    def passed(self) -> bool:
        return self.value >= self.threshold if self.op == ">=" else self.value <= self.threshold

    def describe(self) -> str:
        return f"{self.name} {self.op} {self.threshold:g}"


@dataclass
class BenchResult:
    """One benchmark's figures: raw rounds, the medians, the baseline, the ratio, the targets."""

    name: str
    title: str
    unit: str
    measured: float
    baseline: float | None
    ratio: float | None
    baseline_title: str
    checks: list[Check]
    rounds: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    smoke: bool = False
    elapsed_seconds: float = 0.0
    conditions: dict[str, Any] = field(default_factory=dict)  # the machine's load around the run
    error: str | None = None

    @property
    def passed(self) -> bool | None:
        """None in smoke mode (tiny sizes prove the code runs, not how fast it is)."""
        if self.error is not None:
            return False
        if self.smoke:
            return None
        return all(check.passed for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [
            {**asdict(check), "target": check.describe(), "passed": check.passed} for check in self.checks
        ]
        data["passed"] = self.passed
        data["machine"] = machine()
        return data


def failed(name: str, title: str, error: str, *, smoke: bool) -> BenchResult:
    """The record of a benchmark that could not run to the end."""
    return BenchResult(
        name=name,
        title=title,
        unit="",
        measured=float("nan"),
        baseline=None,
        ratio=None,
        baseline_title="",
        checks=[],
        rounds=[],
        smoke=smoke,
        error=error,
    )


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def write_results(results: Sequence[BenchResult], out_dir: Path) -> Path:
    """One `<name>.json` per benchmark, then `summary.json`; returns the summary's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for result in results:
        (out_dir / f"{result.name}.json").write_text(json.dumps(result.to_json(), indent=2, default=str))
    summary = {
        "passed": all(result.passed is not False for result in results),
        "smoke": any(result.smoke for result in results),
        "machine": machine(),
        "benchmarks": [summary_row(result) for result in results],
    }
    path = out_dir / "summary.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    return path


def summary_row(result: BenchResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "title": result.title,
        "unit": result.unit,
        "measured": result.measured,
        "baseline": result.baseline,
        "baseline_title": result.baseline_title,
        "ratio": result.ratio,
        "rounds": len(result.rounds),
        "targets": [check.describe() for check in result.checks],
        "values": [check.value for check in result.checks],
        "passed": result.passed,
        "error": result.error,
    }


def _figure(value: float | None) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.0f}"


def _verdict(result: BenchResult) -> str:
    if result.error is not None:
        return "ERROR"
    return {True: "pass", False: "FAIL", None: "smoke"}[result.passed]


def format_table(results: Sequence[BenchResult]) -> str:
    """The printed summary: one line per benchmark, medians over its rounds."""
    header = ("benchmark", "measured", "baseline", "ratio", "target (value)", "rounds", "result")
    rows = [header]
    for result in results:
        targets = "; ".join(f"{check.describe()} ({check.value:.3g})" for check in result.checks)
        rows.append(
            (
                result.title,
                f"{_figure(result.measured)} {result.unit}".strip(),
                _figure(result.baseline),
                "-" if result.ratio is None else f"{result.ratio:.3f}",
                targets or (result.error or "-")[:60],
                str(len(result.rounds)),
                _verdict(result),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
