"""Slow and greedy clients against a real process: sockets that send half a request are
closed by the server, connections past the cap are refused at once, an endless head is cut
off, and /healthz keeps answering through all of it."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from batch_testkit.keys import ALICE_KEY, DEFAULT_KEYS
from batch_testkit.processes import ServerProcess, base_env, free_port
from batch_testkit.servers import BIN_DIR, BatchService, run_batch_service

READ_TIMEOUT = 2
HALF_A_HEADER = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "


@contextmanager
def open_sockets(url: str, count: int, first_bytes: bytes) -> Iterator[list[socket.socket]]:
    host, port = url.removeprefix("http://").split(":")
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection((host, int(port)), timeout=30))
            if first_bytes:
                sock.sendall(first_bytes)
            sockets.append(sock)
        yield sockets


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (30 s at most)."""
    received = b""
    sock.settimeout(30)
    while chunk := sock.recv(65536):
        received += chunk
    return received


def status_and_detail(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower()
    return int(head.split(b" ", 2)[1]), json.loads(body)["detail"]


def healthz(url: str) -> httpx.Response:
    return httpx.get(f"{url}/healthz", timeout=5)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[BatchService]:
    with run_batch_service(tmp_path, env={"BATCH_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT)}) as running:
        yield running


@pytest.mark.parametrize(
    "first_bytes", [HALF_A_HEADER, b"GET /heal", b""], ids=["half-header", "half-line", "silent"]
)
def test_three_hundred_slow_sockets_are_closed_and_healthz_answers_meanwhile(
    service: BatchService, first_bytes: bytes
) -> None:
    with open_sockets(service.url, 300, first_bytes) as sockets:
        assert healthz(service.url).status_code == 200  # while all 300 are open
        answers = [read_until_closed(sock) for sock in sockets]
    timeouts = [status_and_detail(answer) for answer in answers]
    assert {status for status, _ in timeouts} == {408}
    assert "BATCH_READ_TIMEOUT_SECONDS" in timeouts[0][1]
    assert healthz(service.url).status_code == 200


def test_a_stalled_body_is_cut_off_too(service: BatchService) -> None:
    head = b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
    with open_sockets(service.url, 1, head + f"Authorization: Bearer {ALICE_KEY}\r\n\r\n{{".encode()) as (
        sock,
    ):
        started = time.monotonic()
        answer = read_until_closed(sock)
    assert time.monotonic() - started < 30  # closed by the server, not by our own timeout
    assert b"HTTP/1.1 201" not in answer


def test_an_endless_request_head_is_refused_with_431(service: BatchService) -> None:
    with open_sockets(service.url, 1, b"GET /healthz HTTP/1.1\r\nHost: x\r\n") as (sock,):
        try:
            for _ in range(40):  # 40 times 4 KiB of header, within the read timeout
                sock.sendall(b"X-Pad: " + b"p" * 4096 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close while we are still sending
        answer = read_until_closed(sock)
    status, detail = status_and_detail(answer)
    assert status == 431
    assert "headers" in detail


def test_keep_alive_requests_within_the_timeout_are_served(service: BatchService) -> None:
    with httpx.Client(base_url=service.url) as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            time.sleep(READ_TIMEOUT / 2)


@contextmanager
def service_with_few_descriptors(
    tmp_path: Path, descriptors: int, env: dict[str, str]
) -> Iterator[tuple[str, Callable[[], str]]]:
    """`batch-service` in a process that may open only `descriptors` files (soft = hard)."""
    port = free_port()
    launcher = (
        "import os, resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({descriptors}, {descriptors})); "
        f"os.execv(sys.argv[1], sys.argv[1:])"
    )
    url = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        name="batch-service (few descriptors)",
        command=[sys.executable, "-c", launcher, str(BIN_DIR / "batch-service")],
        env=base_env(
            {
                "BATCH_PORT": str(port),
                "BATCH_API_KEYS": DEFAULT_KEYS,
                "BATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'fd.db'}",
                **env,
            }
        ),
        log_path=tmp_path / "fd.log",
        is_ready=lambda: _answers(f"{url}/readyz"),
    )
    server.start()
    try:
        yield url, server.log
    finally:
        server.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def outcome(sock: socket.socket) -> int | str:
    """How the server ended this connection: the status it answered, or "reset" (a socket
    refused past the cap is closed at once, which resets it if the client had sent bytes)."""
    try:
        return status_and_detail(read_until_closed(sock))[0]
    except ConnectionResetError:
        return "reset"


def test_slow_sockets_cannot_exhaust_descriptors(tmp_path: Path) -> None:
    """With 256 descriptors, 300 slow sockets used to take them all: the server could accept
    nothing more and kept them for good. Now connections past the cap (256 less a reserve)
    are refused at once, the rest time out, and the service never runs out of descriptors."""
    with service_with_few_descriptors(tmp_path, 256, {"BATCH_READ_TIMEOUT_SECONDS": "5"}) as (url, log):
        with open_sockets(url, 300, HALF_A_HEADER) as sockets:
            outcomes = [outcome(sock) for sock in sockets]
        after = healthz(url)
        messages = log()
    assert "at most 192 connections" in messages
    assert "Too many open files" not in messages
    assert set(outcomes) <= {408, 503, "reset"}
    assert 1 <= outcomes.count(408) <= 192  # held, up to the cap, until the read timeout
    assert len(outcomes) - outcomes.count(408) >= 300 - 192  # the rest refused at once
    assert after.status_code == 200
