"""The list of benchmarks, and running them: each in its own event loop, errors recorded."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from batch_testkit.servers import BIN_DIR
from bench import (
    concurrent_jobs,
    followers,
    get_job,
    get_task,
    log_page,
    many_jobs,
    memory,
    replica_jobs,
    submit_job,
    transports,
)
from bench.context import BenchContext
from bench.procs import REPO_ROOT
from bench.report import BenchResult, failed, write_results

DEFAULT_OUT = Path(__file__).parent / "results"


class Benchmark(Protocol):
    NAME: str
    TITLE: str

    async def run(self, ctx: BenchContext) -> BenchResult: ...


BENCHMARKS: tuple[Benchmark, ...] = (
    get_job,
    submit_job,
    get_task,
    transports,
    log_page,
    concurrent_jobs,
    many_jobs,
    replica_jobs,
    memory,
    followers,
)


def run_one(benchmark: Benchmark, ctx: BenchContext, out_dir: Path) -> BenchResult:
    """Run one benchmark; one that raises is recorded as an error (its servers' logs kept in
    `out_dir/logs/<name>/`), and the others still run."""
    print(f"== {benchmark.NAME}: {benchmark.TITLE}", flush=True)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    try:
        result = asyncio.run(benchmark.run(ctx))
    except Exception:
        result = failed(benchmark.NAME, benchmark.TITLE, traceback.format_exc(), smoke=ctx.smoke)
        keep_logs(ctx.workdir, benchmark.NAME, out_dir / "logs" / benchmark.NAME)
    result.elapsed_seconds = time.monotonic() - started
    result.conditions = {
        **code_version(),
        "loadavg_1m_before": load_before,
        "loadavg_1m_after": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        "wrk": shutil.which("wrk"),
    }
    if load_before > (os.cpu_count() or 1) / 2:
        result.notes.append(
            f"The machine was busy when this started (1-minute load {load_before:.1f}): "
            "absolute rates are low; ratios to the same-run baseline hold better."
        )
    return result


def code_version() -> dict[str, object]:
    """The commit measured, and whether the measured packages differ from it (read-only git)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "batch_service", "my_connector")
    return {
        "git_commit": git("rev-parse", "--short", "HEAD") or None,
        "uncommitted_changes": bool(changed),
        **service_build(),
    }


def service_build() -> dict[str, str | None]:
    """Which source the servers run: the `batch-service` beside this Python imports its own
    install, which may be another checkout (`/tmp/old/.venv/bin/python -m bench` measures an
    older build with this bench code)."""
    where = subprocess.run(
        [str(BIN_DIR / "python"), "-c", "import batch_service; print(batch_service.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not where:
        return {"service_source": None, "service_commit": None}
    source = Path(where).parent.parent
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=source, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {"service_source": str(source), "service_commit": commit or None}


def keep_logs(workdir: Path, name: str, destination: Path) -> None:
    """Copy the server logs of benchmark `name` (its scratch directories start with its name)."""
    destination.mkdir(parents=True, exist_ok=True)
    for log in workdir.glob(f"{name}*/*.log"):
        shutil.copy2(log, destination / log.name)


def run_all(
    out_dir: Path,
    *,
    smoke: bool = False,
    only: Sequence[str] = (),
    rounds: int | None = None,
    seconds: int | None = None,
) -> list[BenchResult]:
    """Run the chosen benchmarks (all by default) in a scratch directory; write their JSON to `out_dir`."""
    unknown = set(only) - {benchmark.NAME for benchmark in BENCHMARKS}
    if unknown:
        raise ValueError(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    chosen = [benchmark for benchmark in BENCHMARKS if not only or benchmark.NAME in only]
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        ctx = BenchContext.create(Path(workdir), smoke=smoke, rounds=rounds, seconds=seconds)
        results = [run_one(benchmark, ctx, out_dir) for benchmark in chosen]
    write_results(results, out_dir)
    return results
