"""Start real server processes on free 127.0.0.1 ports, and always stop them.

Tests use these instead of in-process apps when the behaviour under test crosses a
process boundary: restarts, kill -9, the connector talking HTTP to the service.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx

from tests.utils.keys import DEFAULT_KEYS

BIN_DIR = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A server started by a test: its command, environment, log file and process."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    is_ready: Callable[[], bool]
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 60.0) -> ServerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            if self.is_ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill_hard(self) -> None:
        """SIGKILL the whole process group: no shutdown hooks run, as in a crash."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill_hard()


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


def http_ready(url: str) -> Callable[[], bool]:
    """A readiness check that is ready once `url` answers 200."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment minus any BATCH_* leaking in, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCH_")}
    env.update(extra or {})
    return env


@contextmanager
def run_batch_service(
    workdir: Path,
    *,
    api_keys: str = DEFAULT_KEYS,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> Iterator[BatchService]:
    """Run `batch-service` on a free port with its own SQLite file (unless told otherwise)."""
    port = port or free_port()
    database_url = database_url or f"sqlite:///{workdir / 'batch.db'}"
    settings = {
        "BATCH_HOST": "127.0.0.1",
        "BATCH_PORT": str(port),
        "BATCH_DATABASE_URL": database_url,
        "BATCH_API_KEYS": api_keys,
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


def command_ready(
    command: list[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float = 10.0
) -> Callable[[], bool]:
    """A readiness check that runs `command` and is ready when it exits 0.

    For probes that are themselves commands, such as a compose healthcheck's `test`: running
    the very command proves more than a look-alike HTTP call would.
    """

    def check() -> bool:
        try:
            done = subprocess.run(command, env=dict(env), cwd=cwd, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    return check


@dataclass
class ConnectorServer:
    """A running `c0` (the SDK's connector server) and its gRPC address."""

    server: ServerProcess
    address: str


def _grpc_ready(address: str) -> Callable[[], bool]:
    def check() -> bool:
        with grpc.insecure_channel(address) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=1.0)
            except grpc.FutureTimeoutError:
                return False
            return True

    return check


@contextmanager
def run_connector_server(
    workdir: Path,
    *,
    api_url: str,
    api_key: str | None = None,
    modules: tuple[str, ...] = ("my_connector",),
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> Iterator[ConnectorServer]:
    """Run `c0` on a free port (and a free Prometheus port), talking to the batch API at `api_url`.

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
        is_ready=_grpc_ready(address),
    )
    server.start()
    try:
        yield ConnectorServer(server=server, address=address)
    finally:
        server.stop()
