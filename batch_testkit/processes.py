"""Start real server processes on free 127.0.0.1 ports, wait until they answer, always stop them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment minus any BATCH_* leaking in, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCH_")}
    env.update(extra or {})
    return env


@dataclass
class ServerProcess:
    """A server: its command, environment, log file and (once started) process."""

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


def http_ready(url: str) -> Callable[[], bool]:
    """Ready once `url` answers 200."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def grpc_ready(address: str) -> Callable[[], bool]:
    """Ready once a gRPC channel to `address` connects."""

    def check() -> bool:
        with grpc.insecure_channel(address) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=1.0)
            except grpc.FutureTimeoutError:
                return False
            return True

    return check


def command_ready(
    command: list[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float = 10.0
) -> Callable[[], bool]:
    """Ready when `command` exits 0: for probes that are themselves commands (a compose
    healthcheck's `test`), running the very command proves more than a look-alike call."""

    def check() -> bool:
        try:
            done = subprocess.run(command, env=dict(env), cwd=cwd, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    return check
