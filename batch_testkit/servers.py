"""A real `batch-service` and a real `c0` as processes, for tests and demos.

Each runs on a free 127.0.0.1 port, with its own SQLite file unless told otherwise, and is
stopped (its whole process group) when the `with` block ends, whatever happened inside.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from batch_testkit.keys import ADMIN_KEY, DEFAULT_KEYS
from batch_testkit.processes import ServerProcess, base_env, free_port, grpc_ready, http_ready

BIN_DIR = Path(sys.executable).parent  # the scripts of the environment running us


@dataclass
class BatchService:
    """A running `batch-service` process and how to reach it."""

    server: ServerProcess
    url: str
    database_url: str

    def restart(self) -> None:
        self.server.stop()
        self.server.start()

    def crash_and_restart(self) -> None:
        self.server.kill_hard()
        self.server.start()


@contextmanager
def run_batch_service(
    workdir: Path,
    *,
    api_keys: str = DEFAULT_KEYS,
    admin_keys: str | None = None,
    test_mode: bool = False,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> Iterator[BatchService]:
    """Run `batch-service` on a free port with its own SQLite file in `workdir`.

    `test_mode=True` turns on scenarios and the test clock and, unless `admin_keys` says
    otherwise, the admin API with `batch_testkit.keys.ADMIN_KEY`.
    """
    port = port or free_port()
    database_url = database_url or f"sqlite:///{workdir / 'batch.db'}"
    if admin_keys is None and test_mode:
        admin_keys = ADMIN_KEY
    settings = {
        "BATCH_HOST": "127.0.0.1",
        "BATCH_PORT": str(port),
        "BATCH_DATABASE_URL": database_url,
        "BATCH_API_KEYS": api_keys,
        **({"BATCH_ADMIN_KEYS": admin_keys} if admin_keys else {}),
        **({"BATCH_TEST_MODE": "true"} if test_mode else {}),
        **(env or {}),
    }
    url = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        name="batch-service",
        command=[str(BIN_DIR / "batch-service")],
        env=base_env(settings),
        log_path=workdir / f"batch-service-{port}.log",
        is_ready=http_ready(f"{url}/readyz"),
    )
    server.start()
    try:
        yield BatchService(server=server, url=url, database_url=database_url)
    finally:
        server.stop()


@dataclass
class ConnectorServer:
    """A running `c0` (the Flyte SDK's connector server) and its gRPC address."""

    server: ServerProcess
    address: str


@contextmanager
def run_connector_server(
    workdir: Path,
    *,
    api_url: str,
    api_key: str | None = None,
    modules: tuple[str, ...] = ("my_connector",),  # this project's connector; name yours
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> Iterator[ConnectorServer]:
    """Run `c0` on a free port (and a free Prometheus port), its connector calling `api_url`.

    `modules=()` starts plain `c0`, which finds connectors through their entry points only.
    c0 serves gRPC only once its connectors are loaded, so a ready channel means ready.
    """
    port = port or free_port()
    command = [str(BIN_DIR / "c0"), "--port", str(port), "--prometheus_port", str(free_port())]
    for module in modules:
        command += ["--modules", module]
    settings = {"BATCH_API_URL": api_url, **({"BATCH_API_KEY": api_key} if api_key else {}), **(env or {})}
    address = f"127.0.0.1:{port}"
    server = ServerProcess(
        name="c0",
        command=command,
        env=base_env(settings),
        log_path=workdir / f"c0-{port}.log",
        is_ready=grpc_ready(address),
    )
    server.start()
    try:
        yield ConnectorServer(server=server, address=address)
    finally:
        server.stop()
