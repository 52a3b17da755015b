"""The processes under test: the real service, the bare baseline app, `c0`, and what they cost.

Servers are started with the test suite's helpers (`tests/utils/servers.py`), so a
benchmark runs exactly what the tests run, on free 127.0.0.1 ports, and stops it after.
CPU and memory are read from `/proc`, which needs no extra package.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from batch_testkit.keys import ALICE_KEY as OWNER_KEY
from batch_testkit.processes import ServerProcess, base_env, free_port, http_ready
from batch_testkit.servers import BatchService, ConnectorServer, run_batch_service, run_connector_server

REPO_ROOT = Path(__file__).resolve().parent.parent
AUTHORIZATION = f"Bearer {OWNER_KEY}"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

__all__ = [
    "AUTHORIZATION",
    "BatchService",
    "ProcessSample",
    "ServerProcess",
    "run_baseline_app",
    "run_batch_service",
    "run_connector",
    "sample",
]


def python_path() -> str:
    """The repository first (so `bench.*` imports in child processes), then any PYTHONPATH given."""
    return os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))


@dataclass(frozen=True)
class ProcessSample:
    """CPU seconds used so far and resident memory, from `/proc/<pid>`."""

    cpu_seconds: float
    rss_kib: int
    peak_rss_kib: int


def sample(server: ServerProcess) -> ProcessSample:
    """CPU and memory of a running server; a clear error, with its log's end, if it has exited."""
    process = server.process
    if process is None or process.poll() is not None:
        code = None if process is None else process.returncode
        raise RuntimeError(
            f"{server.name} is not running (exit code {code}); its log ends:\n{server.log()[-3000:]}"
        )
    stat = Path(f"/proc/{process.pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    status = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
        if ":" in line
    )
    return ProcessSample(
        cpu_seconds=cpu,
        rss_kib=int(status["VmRSS"].split()[0]),
        peak_rss_kib=int(status["VmHWM"].split()[0]),
    )


@dataclass
class BaselineApp:
    server: ServerProcess
    url: str


@contextmanager
def run_baseline_app(workdir: Path, *, database: Path | None = None) -> Iterator[BaselineApp]:
    """`bench/baseline_app.py` under uvicorn with the service's own settings (and its `/db/`
    routes on `database`, when given)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "bench.baseline_app", "--port", str(port)]
    server = ServerProcess(
        name="baseline-app",
        command=command + (["--database", str(database)] if database else []),
        env=base_env({"PYTHONPATH": python_path()}),
        log_path=workdir / f"baseline-app-{port}.log",
        is_ready=http_ready(f"{url}/healthz"),
    )
    server.start()
    try:
        yield BaselineApp(server=server, url=url)
    finally:
        server.stop()


@contextmanager
def run_connector(
    workdir: Path, *, api_url: str, modules: tuple[str, ...], env: Mapping[str, str] | None = None
) -> Iterator[ConnectorServer]:
    """`c0` serving `modules`; the repository root is on its path so `bench.*` modules import."""
    settings = {"PYTHONPATH": python_path(), **(env or {})}
    with run_connector_server(workdir, api_url=api_url, modules=modules, env=settings) as server:
        yield server
