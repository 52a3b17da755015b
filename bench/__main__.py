"""`python -m bench`: run every benchmark, write `bench/results/*.json`, print the summary.

    python -m bench                       # full sizes; several minutes
    python -m bench --smoke               # tiny sizes, no targets judged; seconds
    python -m bench --only get_job_throughput --rounds 3

Exits 1 when a benchmark fails its target or cannot run, 0 otherwise.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bench.report import format_table
from bench.suite import BENCHMARKS, DEFAULT_OUT, run_all


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run the benchmarks, write JSON results."
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no targets judged")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        choices=[benchmark.NAME for benchmark in BENCHMARKS],
        help="run just this benchmark (repeatable)",
    )
    parser.add_argument("--rounds", type=int, help="rounds per comparison (default 5; smoke 1)")
    parser.add_argument("--seconds", type=int, help="seconds per load round (default 5; smoke 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON files go")
    args = parser.parse_args(argv)
    results = run_all(args.out, smoke=args.smoke, only=args.only, rounds=args.rounds, seconds=args.seconds)
    print()
    print(format_table(results))
    for result in results:
        if result.error:
            print(f"\n{result.name} could not run:\n{result.error}")
    print(f"\nresults: {args.out}")
    return 1 if any(result.passed is False for result in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
