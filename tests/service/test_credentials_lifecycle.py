"""Credentials against a real process: a logs token dies with its owner, keys must be what a
Bearer header can carry, the header is read by RFC 6750's grammar, and forged tokens cost
the service no memory."""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from batch_service.ratelimit import RateLimiter
from batch_testkit.keys import ALICE, ALICE_KEY, BOB_KEY
from batch_testkit.processes import base_env
from batch_testkit.servers import BIN_DIR, BatchService, run_batch_service

FORGED_TOKENS = 100_000


def submit(client: httpx.Client) -> dict:
    response = client.post(
        "/v1/jobs", json={"name": "c", "duration_seconds": 0, "log_lines": 2}, headers=ALICE
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_logs_token_dies_when_its_owner_is_removed(tmp_path: Path) -> None:
    with run_batch_service(tmp_path) as service, httpx.Client(base_url=service.url) as client:
        job = submit(client)
    logs = f"/v1/jobs/{job['id']}/logs"
    token = {"Authorization": f"Bearer {job['logs_token']}"}

    with (
        run_batch_service(tmp_path, api_keys=f"bob:{BOB_KEY}") as service,
        httpx.Client(base_url=service.url) as client,
    ):
        refused = client.get(logs, headers=token)
        followed = client.get(logs, params={"follow": "true"}, headers=token)
    assert refused.status_code == followed.status_code == 401
    assert refused.json()["detail"] == "this logs token is not valid for this job"

    with run_batch_service(tmp_path) as service, httpx.Client(base_url=service.url) as client:
        assert client.get(logs, headers=token).status_code == 200  # alice is back: so is her token


@pytest.mark.parametrize("key", ["clé", "key with space", "semi;colon", 'quote"d'])
def test_a_key_a_bearer_header_cannot_carry_is_refused_at_start_up(tmp_path: Path, key: str) -> None:
    result = subprocess.run(
        [str(BIN_DIR / "batch-service")],
        env=base_env(
            {
                "BATCH_API_KEYS": f"bob:bob-key,alice:{key}",
                "BATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
            }
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "BATCH_API_KEYS entry 2" in result.stderr
    assert "RFC 6750" in result.stderr
    assert key not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (f"Bearer {ALICE_KEY}", 200),
        (f"Bearer  {ALICE_KEY}", 200),  # RFC 6750 2.1: "Bearer" 1*SP b64token
        (f"bearer {ALICE_KEY}", 200),  # RFC 7235 2.1: the scheme is case-insensitive
        (f"Bearer\t{ALICE_KEY}", 401),
        (f"Bearer {ALICE_KEY} extra", 401),
        ("Bearer", 401),
        (ALICE_KEY, 401),
    ],
)
def test_the_authorization_header_follows_rfc_6750(
    batch_server: BatchService, authorization: str, status: int
) -> None:
    response = httpx.get(f"{batch_server.url}/v1/jobs", headers={"Authorization": authorization})
    assert response.status_code == status, response.text
    assert "detail" in response.json() if status == 401 else "jobs" in response.json()


async def _flood_with_forged_logs_tokens(url: str, count: int, connections: int = 16) -> list[int]:
    """`count` GETs of a job's logs, each with a fresh forged `bjl_` token, over keep-alive
    connections, pipelined 50 at a time; returns the status of every answer."""
    address = urlsplit(url)
    statuses: list[int] = []

    async def one_connection(share: int) -> None:
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        try:
            while share > 0:
                batch = min(50, share)
                share -= batch
                writer.write(
                    b"".join(
                        f"GET /v1/jobs/job-{secrets.token_hex(12)}/logs HTTP/1.1\r\nHost: x\r\n"
                        f"Authorization: Bearer bjl_{secrets.token_urlsafe(32)}\r\n\r\n".encode()
                        for _ in range(batch)
                    )
                )
                await writer.drain()
                for _ in range(batch):
                    head = await reader.readuntil(b"\r\n\r\n")
                    statuses.append(int(head.split(b" ", 2)[1]))
                    length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))
                    await reader.readexactly(length)
        finally:
            writer.close()

    await asyncio.gather(*(one_connection(count // connections) for _ in range(connections)))
    return statuses


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


def _gauge(url: str, name: str) -> float:
    metrics = httpx.get(f"{url}/metrics").text
    return float(re.search(rf"^{name} (\S+)$", metrics, re.MULTILINE).group(1))


def test_forged_logs_tokens_leave_no_rate_limit_state_behind(tmp_path: Path) -> None:
    with run_batch_service(tmp_path, env={"BATCH_RATE_LIMIT": "1000"}) as service:
        pid = service.server.process.pid
        asyncio.run(_flood_with_forged_logs_tokens(service.url, 2_000))  # warm up allocator and caches
        before = _rss_kib(pid)
        statuses = asyncio.run(_flood_with_forged_logs_tokens(service.url, FORGED_TOKENS))
        after = _rss_kib(pid)
        buckets = _gauge(service.url, "batch_rate_limit_buckets")
    print(f"RSS {before} KiB before {FORGED_TOKENS} forged tokens, {after} KiB after; {buckets:g} buckets")
    assert statuses == [401] * FORGED_TOKENS
    assert buckets == 0
    assert after - before < 8 * 1024  # the old per-token buckets held ~23 MB for 100,000 tokens


def test_a_bucket_is_dropped_only_once_it_has_refilled() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])  # burst 2, refilled in 1 s
    for caller in ("owner:alice", "owner:alice", "owner:bob", "logs:job-1"):
        assert limiter.retry_after(caller) is None
    now[0] = 0.8
    assert limiter.retry_after("owner:alice") is None  # alice is busy: 0.6 tokens left
    assert limiter.bucket_count == 3
    now[0] = 1.0  # bob and job-1 have refilled; alice has not, and keeps her deficit
    assert limiter.retry_after("owner:carol") is None
    assert limiter.bucket_count == 2
    assert limiter.retry_after("owner:alice") is None
    assert limiter.retry_after("owner:alice") == 1
