"""Every benchmark at tiny sizes, so none can rot: each runs to the end and writes its JSON.

The sizes prove that the code works, not that a target is met, so no threshold is judged
here (`passed` is null); `python -m bench` judges them at full size.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.suite import BENCHMARKS, run_all

NAMES = [benchmark.NAME for benchmark in BENCHMARKS]


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench-results")
    run_all(out, smoke=True)
    return out


def load(results_dir: Path, name: str) -> dict[str, Any]:
    return json.loads((results_dir / f"{name}.json").read_text())


@pytest.mark.parametrize("name", NAMES)
def test_each_benchmark_runs_and_reports_figures_baseline_and_targets(results_dir: Path, name: str) -> None:
    result = load(results_dir, name)

    assert result["error"] is None, result["error"]
    assert result["smoke"] is True
    assert result["passed"] is None  # smoke sizes are not judged
    assert result["measured"] > 0
    assert result["rounds"]
    assert result["checks"]
    for check in result["checks"]:
        assert check["value"] > 0
        assert check["target"].startswith(check["name"])
    if result["baseline"] is not None:
        assert result["baseline"] > 0
        assert result["ratio"] == pytest.approx(result["measured"] / result["baseline"])


def test_the_summary_lists_every_benchmark_in_order(results_dir: Path) -> None:
    summary = json.loads((results_dir / "summary.json").read_text())

    assert [row["name"] for row in summary["benchmarks"]] == NAMES
    assert summary["smoke"] is True
    assert summary["passed"] is True  # nothing failed: smoke results are never judged
