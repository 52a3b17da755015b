"""Load generators: `wrk` for plain HTTP requests, a closed async loop for everything else.

`wrk` (C, one thread) leaves the server under test nearly a whole core of this 2-core
machine, which a Python load loop cannot: prefer it whenever it is installed (Debian:
`apt-get install -y wrk`). Without it HTTP load falls back to an httpx loop, and the
result says which generator produced it. Load is always bounded: a fixed number of
connections for a fixed time, against 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.report import median

WRK_SCRIPT = Path(__file__).parent / "lua" / "request.lua"
WRK_MARKER = "BENCH_RESULT "


@dataclass(frozen=True)
class LoadResult:
    """What one bounded burst of load achieved."""

    generator: str
    seconds: float
    ok: int
    failed: int
    latency_p50_ms: float
    latency_p99_ms: float

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate}


def _check_local(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host in {"localhost", "::1"}):
        raise ValueError(f"benchmarks only load 127.0.0.1, not {host!r}")


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


async def http_load(
    url: str,
    *,
    method: str = "GET",
    body: str | None = None,
    authorization: str | None = None,
    connections: int = 32,
    seconds: int = 5,
) -> LoadResult:
    """`connections` keep-alive connections sending the same request for `seconds`."""
    _check_local(url)
    if wrk_available():
        return await _wrk(url, method, body, authorization, connections, seconds)
    return await _httpx_load(url, method, body, authorization, connections, seconds)


async def _wrk(
    url: str, method: str, body: str | None, authorization: str | None, connections: int, seconds: int
) -> LoadResult:
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_BODY": body or "",
        "BENCH_AUTHORIZATION": authorization or "",
    }
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(WRK_SCRIPT)]
    process = await asyncio.create_subprocess_exec(
        *command, url, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=seconds + 30)
    text = output.decode(errors="replace")
    lines = [line for line in text.splitlines() if line.startswith(WRK_MARKER)]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{text}")
    raw = json.loads(lines[-1].removeprefix(WRK_MARKER))
    errors = raw["errors"]
    transport_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    return LoadResult(
        generator="wrk",
        seconds=raw["duration_us"] / 1e6,
        ok=raw["requests"] - errors["status"],
        failed=errors["status"] + transport_errors,
        latency_p50_ms=raw["latency_us"]["p50"] / 1000,
        latency_p99_ms=raw["latency_us"]["p99"] / 1000,
    )


async def _httpx_load(
    url: str, method: str, body: str | None, authorization: str | None, connections: int, seconds: int
) -> LoadResult:
    headers = {"Content-Type": "application/json"} if body else {}
    if authorization:
        headers["Authorization"] = authorization
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:

        async def one() -> bool:
            response = await client.request(method, url, content=body, headers=headers)
            return response.is_success

        return await closed_loop(one, concurrency=connections, seconds=seconds, generator="httpx")


async def closed_loop(
    call: Callable[[], Awaitable[bool]], *, concurrency: int, seconds: float, generator: str
) -> LoadResult:
    """`concurrency` workers each awaiting `call()` back to back until `seconds` have passed.

    `call` returns whether the request succeeded; an exception counts as a failure.
    """
    latencies: list[float] = []
    failures = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        nonlocal failures
        while time.perf_counter() < deadline:
            begun = time.perf_counter()
            try:
                ok = await call()
            except Exception:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - begun)
            else:
                failures += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    p99 = ordered[int(0.99 * (len(ordered) - 1))] if ordered else float("nan")
    return LoadResult(
        generator=generator,
        seconds=elapsed,
        ok=len(latencies),
        failed=failures,
        latency_p50_ms=median(ordered) * 1000,
        latency_p99_ms=p99 * 1000,
    )
