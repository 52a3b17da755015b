"""Live followers at scale: many SSE follows across running jobs, on one process (SQLite).

Every follower must receive every line of its job exactly once and in order (counted,
not sampled). Reported: the delay from a line's due time (its timestamp; the tick that
commits it comes at most one tick later) to its arrival at the follower, p50/p99; the p99
of `GET /v1/jobs/{id}` made meanwhile; and the service's CPU per delivered line. Targets
(issue #12): every follower complete, delay p99 <= 1 s, GET p99 <= 100 ms. One round of
1,000 followers over 100 jobs of 10 owners (100 lines over 20 s each) in the suite.

Run the same client against another build (`--service /tmp/old/.venv/bin/batch-service`)
to put a design beside it in the same sitting. The client reads raw sockets, so it costs
little beside the service it measures.

    python -m bench.followers --followers 1000 --jobs 100 --owners 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from batch_testkit.processes import ServerProcess, base_env, free_port, http_ready
from batch_testkit.servers import BIN_DIR
from bench.context import BenchContext
from bench.procs import sample
from bench.report import BenchResult, Check

NAME = "followers"
TITLE = "1,000 SSE followers over 100 running jobs"
TARGET_DELAY_P99_S = 1.0
TARGET_GET_P99_MS = 100.0
RESULTS = Path(__file__).resolve().parent / "results"
DELAY_SAMPLE = 5  # time every 5th line: the client must stay cheap beside the service


def owner_keys(owners: int) -> dict[str, str]:
    return {f"owner{i}": f"bench-key-{i}" for i in range(owners)}


async def request(port: int, method: str, path: str, key: str, body: bytes = b"") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


async def follow(port: int, job_id: str, key: str, delays: list[float]) -> list[int]:
    """Every line's seq, in arrival order, until the `end` event."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /v1/jobs/{job_id}/logs?follow=true HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer {key}\r\nConnection: close\r\n\r\n".encode()
    )
    seqs: list[int] = []
    while line := await reader.readline():
        if line.startswith(b"id: "):
            seqs.append(int(line[4:]))
        elif line.startswith(b"data: {") and len(seqs) % DELAY_SAMPLE == 0:
            due = datetime.fromisoformat(json.loads(line[6:])["timestamp"]).timestamp()
            delays.append(time.time() - due)
        elif line.startswith(b"event: end"):
            break
    writer.close()
    return seqs


async def keep_getting(port: int, jobs: list[tuple[str, str]], stop: asyncio.Event) -> list[float]:
    """Back-to-back GETs of the jobs, one at a time, over one keep-alive connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[float] = []
    index = 0
    while not stop.is_set():
        job_id, key = jobs[index % len(jobs)]
        index += 1
        started = time.perf_counter()
        writer.write(
            f"GET /v1/jobs/{job_id} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
        )
        body = json.loads(await reader.readexactly(length))
        latencies.append(time.perf_counter() - started)
        if body.get("id") != job_id:
            raise RuntimeError(f"GET /v1/jobs/{job_id} answered {body}")
    writer.close()
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass(frozen=True)
class FollowerLoad:
    followers: int = 1000
    jobs: int = 100
    owners: int = 10
    duration: float = 20
    lines: int = 100


async def measure(load: FollowerLoad, port: int, server: ServerProcess) -> dict[str, Any]:
    keys = list(owner_keys(load.owners).values())
    spec = {"duration_seconds": load.duration, "log_lines": load.lines}
    jobs: list[tuple[str, str]] = []
    for index in range(load.jobs):
        key = keys[index % len(keys)]
        status, body = await request(
            port, "POST", "/v1/jobs", key, json.dumps({**spec, "name": f"f{index}"}).encode()
        )
        if status != 201:
            raise RuntimeError(f"submit failed ({status}): {body!r}")
        jobs.append((json.loads(body)["id"], key))
    delays: list[float] = []
    before = sample(server)
    client_cpu, wall = time.process_time(), time.monotonic()
    stop = asyncio.Event()
    getter = asyncio.create_task(keep_getting(port, jobs, stop))
    followers = [jobs[i % len(jobs)] for i in range(load.followers)]
    results = await asyncio.gather(*(follow(port, job_id, key, delays) for job_id, key in followers))
    stop.set()
    get_latencies = await getter
    after = sample(server)
    complete = sum(seqs == list(range(load.lines)) for seqs in results)
    service_cpu = after.cpu_seconds - before.cpu_seconds
    delivered = sum(len(seqs) for seqs in results)
    return {
        "followers": load.followers,
        "followers_with_every_line_once_in_order": complete,
        "lines_delivered": delivered,
        "lines_expected": load.followers * load.lines,
        "delay_p50_s": round(statistics.median(delays), 3),
        "delay_p99_s": round(percentile(delays, 0.99), 3),
        "get_p50_ms": round(1000 * statistics.median(get_latencies), 1),
        "get_p99_ms": round(1000 * percentile(get_latencies, 0.99), 1),
        "gets": len(get_latencies),
        "service_cpu_s": round(service_cpu, 2),
        "service_cpu_us_per_line": round(1e6 * service_cpu / max(delivered, 1), 1),
        "peak_rss_mib": round(after.peak_rss_kib / 1024, 1),
        "client_cpu_s": round(time.process_time() - client_cpu, 2),  # near the wall time: client-bound
        "wall_s": round(time.monotonic() - wall, 1),
    }


async def measure_build(service: str, load: FollowerLoad, workdir: Path) -> dict[str, Any]:
    """Start the `batch-service` executable `service` on a fresh SQLite file; measure; stop it."""
    port = free_port()
    env = {
        "BATCH_PORT": str(port),
        "BATCH_DATABASE_URL": f"sqlite:///{workdir}/followers.db",
        "BATCH_API_KEYS": ",".join(f"{o}:{k}" for o, k in owner_keys(load.owners).items()),
        "BATCH_MAX_RUNNING": str(load.jobs),
        "BATCH_LOG_LEVEL": "warning",
        # admit exactly the followers this run opens (the defaults are 10 a job, 20 an owner)
        "BATCH_MAX_FOLLOWERS_PER_JOB": str(-(-load.followers // load.jobs)),
        "BATCH_MAX_FOLLOWERS_PER_OWNER": str(-(-load.followers // load.owners)),
        "BATCH_MAX_CONNECTIONS": str(load.followers + 100),  # + the getter's and the submits'
    }
    server = ServerProcess(
        name="batch-service",
        command=[service],
        env=base_env(env),
        log_path=workdir / "followers-service.log",
        is_ready=http_ready(f"http://127.0.0.1:{port}/readyz"),
    )
    server.start()
    try:
        return await measure(load, port, server)
    finally:
        server.stop()


async def run(ctx: BenchContext) -> BenchResult:
    """The suite's run: this build, full or smoke size, judged on the issue's targets."""
    load = FollowerLoad(followers=20, jobs=4, owners=2, duration=1, lines=10) if ctx.smoke else FollowerLoad()
    figures = await measure_build(str(BIN_DIR / "batch-service"), load, ctx.subdir(NAME))
    followers = load.followers
    return BenchResult(
        name=NAME,
        title=TITLE,
        unit="s delay p99",
        measured=figures["delay_p99_s"],
        baseline=None,
        ratio=None,
        baseline_title="none (absolute targets); the polling design: python -m bench.followers --service",
        checks=[
            Check("followers complete", figures["followers_with_every_line_once_in_order"], ">=", followers),
            Check("line delay p99 s", figures["delay_p99_s"], "<=", TARGET_DELAY_P99_S),
            Check("GET p99 ms meanwhile", figures["get_p99_ms"], "<=", TARGET_GET_P99_MS),
        ],
        rounds=[figures],
        settings=asdict(load),
        notes=["One round. Delay: a line's due time (its timestamp) to its arrival; every 5th line timed."],
        smoke=ctx.smoke,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default=str(BIN_DIR / "batch-service"))
    parser.add_argument("--label", default="this build")
    defaults = FollowerLoad()
    for name in ("followers", "jobs", "owners", "lines"):
        parser.add_argument(f"--{name}", type=int, default=getattr(defaults, name))
    parser.add_argument("--duration", type=float, default=defaults.duration)
    args = parser.parse_args()
    load = FollowerLoad(args.followers, args.jobs, args.owners, args.duration, args.lines)
    with tempfile.TemporaryDirectory() as workdir:
        result = {"label": args.label, "service": args.service, "loadavg_before": os.getloadavg()[0]}
        result |= asyncio.run(measure_build(args.service, load, Path(workdir)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"followers-{args.label.replace(' ', '_')}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
