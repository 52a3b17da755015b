"""Item 6 of issue #12, "nothing gets slower": an older build and this one, in one sitting.

    python -m bench.before_after --old /tmp/old/.venv/bin/python

`--old` is the Python of another checkout's venv (a `git worktree` of the older commit with
`pip install -e .`): `that-python -m bench` runs THIS bench code against the `batch-service`
installed beside it, so both builds meet the same client. The benchmarks alternate, old
then new, so the machine's load falls on both alike; each benchmark's JSON records its
load average and the service commit it measured. Writes `bench/results/before_after.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.procs import REPO_ROOT
from bench.suite import DEFAULT_OUT

COMPARED = ("submit_job_throughput", "log_page_far", "concurrent_jobs_makespan", "memory_100k_jobs")
BETTER = {  # which way is better, per benchmark's `measured`
    "submit_job_throughput": "higher",
    "log_page_far": "lower",
    "concurrent_jobs_makespan": "lower",
    "memory_100k_jobs": "lower",
}


def run_build(python: str, name: str, out: Path) -> dict[str, Any]:
    """One benchmark with one build's Python; its JSON (errors included)."""
    subprocess.run(
        [python, "-m", "bench", "--only", name, "--out", str(out)],
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        check=False,
    )
    return json.loads((out / f"{name}.json").read_text())


def summary(name: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    def figures(result: dict[str, Any]) -> dict[str, Any]:
        conditions = result["conditions"]
        return {
            "measured": result["measured"],
            "unit": result["unit"],
            "ratio": result["ratio"],
            "error": result["error"],
            "service_commit": conditions.get("service_commit"),
            "loadavg_1m": [conditions["loadavg_1m_before"], conditions["loadavg_1m_after"]],
        }

    change = new["measured"] / old["measured"] if old["measured"] else None
    return {
        "benchmark": name,
        "better": BETTER[name],
        "old": figures(old),
        "new": figures(new),
        "new_over_old": change,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the older build's venv Python")
    parser.add_argument("--new", default=sys.executable, help="this build's venv Python")
    parser.add_argument("--only", action="append", choices=COMPARED, help="just these (repeatable)")
    args = parser.parse_args()
    rows = []
    for name in args.only or COMPARED:
        old = run_build(args.old, name, DEFAULT_OUT / "before_after" / "old")
        new = run_build(args.new, name, DEFAULT_OUT / "before_after" / "new")
        rows.append(summary(name, old, new))
    path = DEFAULT_OUT / "before_after.json"
    path.write_text(json.dumps({"cpus": os.cpu_count(), "comparisons": rows}, indent=2))
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
