"""How results are judged and shown, without running any server."""

from __future__ import annotations

from bench.report import BenchResult, Check, failed, format_table


def result(*checks: Check, smoke: bool = False) -> BenchResult:
    return BenchResult(
        name="demo",
        title="demo throughput",
        unit="req/s",
        measured=600.0,
        baseline=1000.0,
        ratio=0.6,
        baseline_title="bare",
        checks=list(checks),
        rounds=[{"ratio": 0.6}],
        smoke=smoke,
    )


def test_a_check_passes_on_its_threshold_and_fails_past_it() -> None:
    assert Check("ratio", 0.5, ">=", 0.5).passed
    assert not Check("ratio", 0.49, ">=", 0.5).passed
    assert Check("time ratio", 1.5, "<=", 1.5).passed
    assert not Check("time ratio", 1.51, "<=", 1.5).passed


def test_a_result_passes_only_when_every_check_does() -> None:
    assert result(Check("ratio", 0.6, ">=", 0.5)).passed is True
    assert result(Check("ratio", 0.6, ">=", 0.5), Check("rate", 400, ">=", 500)).passed is False


def test_smoke_results_are_not_judged_but_errors_always_fail() -> None:
    assert result(Check("rate", 1, ">=", 500), smoke=True).passed is None
    assert failed("demo", "demo throughput", "Traceback ...", smoke=True).passed is False


def test_the_table_shows_medians_ratio_target_and_verdict() -> None:
    table = format_table([result(Check("ratio to bare", 0.6, ">=", 0.5))])

    row = table.splitlines()[2]
    assert "demo throughput" in row
    assert "600 req/s" in row
    assert "0.600" in row
    assert "ratio to bare >= 0.5 (0.6)" in row
    assert row.rstrip().endswith("pass")


def test_json_carries_each_target_and_its_verdict() -> None:
    data = result(Check("ratio", 0.6, ">=", 0.5)).to_json()

    assert data["checks"] == [
        {
            "name": "ratio",
            "value": 0.6,
            "op": ">=",
            "threshold": 0.5,
            "target": "ratio >= 0.5",
            "passed": True,
        }
    ]
    assert data["passed"] is True
    assert data["machine"]["cpus"]
