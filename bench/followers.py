"""Live followers at scale: many SSE follows across running jobs, on one process (SQLite).

Every follower must receive every line of its job exactly once and in order (counted, not
sampled). Reported: the delay from a line's commit to its arrival at the follower, for every
line, p50/p99; the p99 of `GET /v1/jobs/{id}` made meanwhile; the service's CPU per
delivered line; and the client's own CPU, to show it was not the slow side. Targets (issue
#12): every follower complete, delay p99 <= 1 s, GET p99 <= 100 ms. One round of 1,000
followers over 100 jobs of 10 owners (100 lines over 20 s each) in the suite.

A line's commit time comes from `commit_watch.py`, which polls the database file from its own
process: the moment it uses is the start of the last poll that did not see the line yet, so
the delay is never flattered (it may be overstated by one poll, about 5 ms). A line committed
before its follower's stream opened (the follow's catch-up) counts from the opening: the
delay is the service's, not the time before the client asked. The opening itself (request to
response head, while all 1,000 connect at once) is reported apart.

GETs come at a fixed rate (`--get-rate`, one connection; 0 = back to back), and each one's
latency counts from when it was due, so a stall is not hidden by the client waiting; the same
GET work then rides on both builds, and CPU per line compares like with like. The GET target
is judged while all 1,000 follow (issue #12's "meanwhile"); the GETs made while the 1,000
connect at the same moment are reported apart, over all and at their worst.

The followers are spread over `--client-processes` processes reading raw sockets (one read
per arrival, whatever it carries), so the client stays cheap beside the service it measures.

Put the polling design (or any other build) beside this one in the same sitting:

    python -m bench.followers --compare /tmp/old/.venv/bin/batch-service
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from batch_testkit.processes import ServerProcess, base_env, free_port, http_ready
from batch_testkit.servers import BIN_DIR
from bench.context import BenchContext
from bench.follower_clients import (
    Followed,
    client_process_start,
    client_ready,
    follow_all_in_process,
    request,
)
from bench.procs import REPO_ROOT, python_path, sample
from bench.report import BenchResult, Check

NAME = "followers"
TITLE = "1,000 SSE followers over 100 running jobs"
TARGET_DELAY_P99_S = 1.0
TARGET_GET_P99_MS = 100.0
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class FollowerLoad:
    followers: int = 1000
    jobs: int = 100
    owners: int = 10
    duration: float = 20
    lines: int = 100
    get_rate: float = 100.0  # GETs a second; 0 = back to back
    client_processes: int = 2


def owner_keys(owners: int) -> dict[str, str]:
    return {f"owner{i}": f"bench-key-{i}" for i in range(owners)}


async def keep_getting(
    port: int, jobs: list[tuple[str, str]], rate: float, stop: asyncio.Event
) -> list[tuple[float, float]]:
    """GETs of the jobs over one keep-alive connection, `rate` a second (0: back to back);
    each latency counts from when the GET was due, so a stalled answer delays the next."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[tuple[float, float]] = []  # (when due, latency)
    index = 0
    due = time.monotonic()
    while not stop.is_set():
        if rate:
            due += 1 / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        else:
            due = time.monotonic()
        job_id, key = jobs[index % len(jobs)]
        index += 1
        writer.write(
            f"GET /v1/jobs/{job_id} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
        )
        body = json.loads(await reader.readexactly(length))
        latencies.append((due, time.monotonic() - due))
        if body.get("id") != job_id:
            raise RuntimeError(f"GET /v1/jobs/{job_id} answered {body}")
    writer.close()
    return latencies


def percentile(values: list[float], share: float) -> float:
    """NaN for no values (e.g. no GET answered once every follower was open)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else math.nan


def rounded(value: float, digits: int) -> float | None:
    """None for NaN, which JSON cannot hold."""
    return None if math.isnan(value) else round(value, digits)


def commit_times(rises: list[list[Any]]) -> dict[tuple[str, int], float]:
    """(job id, seq) -> the moment after which that line was committed."""
    return {(job_id, seq): after for job_id, first, count, after in rises for seq in range(first, count)}


def line_delays(
    results: list[Followed], committed: dict[tuple[str, int], float]
) -> tuple[list[tuple[float, float]], int]:
    """Each delivered line's (start, delay): from its commit, or its follower's opening if
    later; and how many lines were committed before their follower's stream opened."""
    delays: list[tuple[float, float]] = []
    caught_up = 0
    for followed in results:
        for seq, arrival in zip(followed.seqs, followed.arrivals, strict=True):
            commit = committed[(followed.job_id, seq)]
            if commit < followed.opened:
                caught_up += 1
            start = max(commit, followed.opened)
            delays.append((start, arrival - start))
    return delays, caught_up


async def start_watch(database: Path) -> asyncio.subprocess.Process:
    """The commit watch, once it has taken its first look (nothing committed later is missed)."""
    watch = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.commit_watch",
        str(database),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": python_path()},
    )
    assert watch.stdout is not None
    if await watch.stdout.readline() != b"watching\n":
        raise RuntimeError("bench.commit_watch did not start")
    return watch


async def stop_watch(watch: asyncio.subprocess.Process) -> dict[str, Any]:
    assert watch.stdin is not None
    watch.stdin.close()
    out, _ = await watch.communicate()
    return json.loads(out)


async def submit_jobs(load: FollowerLoad, port: int) -> list[tuple[str, str]]:
    """The jobs to follow, spread over the owners: (id, owner's key) each."""
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
    return jobs


async def measure(load: FollowerLoad, port: int, server: ServerProcess, database: Path) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    spawn = get_context("spawn")
    all_started = spawn.Barrier(load.client_processes)
    with ProcessPoolExecutor(
        load.client_processes, spawn, initializer=client_process_start, initargs=(all_started,)
    ) as clients:
        # the client processes start (and import) before any job does
        pids = await asyncio.gather(
            *(loop.run_in_executor(clients, client_ready) for _ in range(load.client_processes))
        )
        if len(set(pids)) != load.client_processes:
            raise RuntimeError(f"wanted {load.client_processes} client processes, got {len(set(pids))}")
        watch = await start_watch(database)
        jobs = await submit_jobs(load, port)
        followers = [jobs[i % len(jobs)] for i in range(load.followers)]
        shares = [followers[i :: load.client_processes] for i in range(load.client_processes)]
        before, load_before = sample(server), os.getloadavg()[0]
        wall = time.monotonic()
        stop = asyncio.Event()
        getter = asyncio.create_task(keep_getting(port, jobs, load.get_rate, stop))
        parts = await asyncio.gather(
            *(loop.run_in_executor(clients, follow_all_in_process, port, share) for share in shares)
        )
        stop.set()
        gets = await getter  # before the pool's shutdown blocks this loop
        after = sample(server)
        wall = time.monotonic() - wall
    watched = await stop_watch(watch)
    results = [followed for part in parts for followed in part[0]]
    timed, caught_up = line_delays(results, commit_times(watched["rises"]))
    complete = sum(f.seqs == list(range(load.lines)) and not f.mismatched for f in results)
    service_cpu = after.cpu_seconds - before.cpu_seconds
    delivered = sum(len(f.seqs) for f in results)
    client_cpu = sum(part[1] for part in parts)
    opening = [f.opened - f.sent for f in results]
    all_open = max(f.opened for f in results)
    get_latencies = [latency for _, latency in gets]
    gets_all_open = [latency for due, latency in gets if due >= all_open]
    gets_opening = [latency for due, latency in gets if due < all_open]
    delays = [delay for _, delay in timed]
    delays_all_open = [delay for start, delay in timed if start >= all_open]
    return {
        "followers": load.followers,
        "followers_with_every_line_once_in_order": complete,
        "lines_delivered": delivered,
        "lines_expected": load.followers * load.lines,
        "delay_p50_s": round(statistics.median(delays), 3),
        "delay_p99_s": round(percentile(delays, 0.99), 3),
        "delay_max_s": round(max(delays), 3),
        "delay_p99_s_while_all_follow": rounded(percentile(delays_all_open, 0.99), 3),
        "lines_committed_before_their_follow_opened": caught_up,
        "open_p50_s": round(statistics.median(opening), 3),
        "open_p99_s": round(percentile(opening, 0.99), 3),
        "commit_bracket_p99_ms": round(1000 * watched["bracket_p99_s"], 1),
        "get_rate_per_s": load.get_rate,
        "get_p50_ms": round(1000 * statistics.median(get_latencies), 1),
        "get_p99_ms": round(1000 * percentile(get_latencies, 0.99), 1),
        "gets": len(get_latencies),
        # the same GETs split at the moment the last follower's stream opened
        "get_p99_ms_while_all_follow": rounded(1000 * percentile(gets_all_open, 0.99), 1),
        "get_max_ms_while_opening": rounded(1000 * max(gets_opening, default=math.nan), 1),
        "gets_while_opening": len(gets) - len(gets_all_open),
        "service_cpu_s": round(service_cpu, 2),
        "service_cpu_share": round(service_cpu / wall, 2),
        "service_cpu_us_per_line": round(1e6 * service_cpu / max(delivered, 1), 1),
        "peak_rss_mib": round(after.peak_rss_kib / 1024, 1),
        "client_processes": load.client_processes,
        "client_cpu_s": round(client_cpu, 2),  # the followers' processes, not the getter
        "client_cpu_share_per_process": round(client_cpu / load.client_processes / wall, 2),
        "watch_cpu_s": round(watched["cpu_s"], 2),
        "wall_s": round(wall, 1),
        "loadavg_1m": [load_before, os.getloadavg()[0]],
    }


async def measure_build(service: str, load: FollowerLoad, workdir: Path) -> dict[str, Any]:
    """Start the `batch-service` executable `service` on a fresh SQLite file; measure; stop it."""
    port = free_port()
    database = workdir / "followers.db"
    database.unlink(missing_ok=True)
    env = {
        "BATCH_PORT": str(port),
        "BATCH_DATABASE_URL": f"sqlite:///{database}",
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
        return await measure(load, port, server, database)
    finally:
        server.stop()


async def run(ctx: BenchContext) -> BenchResult:
    """The suite's run: this build, full or smoke size, judged on the issue's targets."""
    load = (
        FollowerLoad(followers=20, jobs=4, owners=2, duration=1, lines=10, get_rate=20)
        if ctx.smoke
        else FollowerLoad()
    )
    figures = await measure_build(str(BIN_DIR / "batch-service"), load, ctx.subdir(NAME))
    followers = load.followers
    get_p99 = figures["get_p99_ms_while_all_follow"]
    get_p99 = math.inf if get_p99 is None else get_p99  # no GET answered then: a miss
    return BenchResult(
        name=NAME,
        title=TITLE,
        unit="s delay p99",
        measured=figures["delay_p99_s"],
        baseline=None,
        ratio=None,
        baseline_title="none (absolute targets); the polling design: python -m bench.followers --compare",
        checks=[
            Check("followers complete", figures["followers_with_every_line_once_in_order"], ">=", followers),
            Check("line delay p99 s", figures["delay_p99_s"], "<=", TARGET_DELAY_P99_S),
            Check("GET p99 ms, all following", get_p99, "<=", TARGET_GET_P99_MS),
        ],
        rounds=[figures],
        settings=asdict(load),
        notes=[
            "One round. Delay: a line's commit (seen by polling the database file) or its "
            "follow's opening, if later, to its arrival; every line timed.",
            "GETs are judged once every follower's stream is open; those made while the 1,000 "
            "connect at once are reported apart (get_p99_ms over all, get_max_ms_while_opening).",
        ],
        smoke=ctx.smoke,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default=str(BIN_DIR / "batch-service"))
    parser.add_argument("--label", default="this build")
    parser.add_argument("--compare", metavar="SERVICE", help="another build's batch-service, measured first")
    parser.add_argument("--compare-label", default="other build")
    defaults = FollowerLoad()
    for name in ("followers", "jobs", "owners", "lines", "client_processes"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    parser.add_argument("--duration", type=float, default=defaults.duration)
    parser.add_argument("--get-rate", type=float, default=defaults.get_rate)
    args = parser.parse_args()
    load = FollowerLoad(
        args.followers,
        args.jobs,
        args.owners,
        args.duration,
        args.lines,
        args.get_rate,
        args.client_processes,
    )
    builds = [(args.compare_label, args.compare)] if args.compare else []
    builds.append((args.label, args.service))
    results = []
    for label, service in builds:
        with tempfile.TemporaryDirectory() as workdir:
            result = {"label": label, "service": service, "settings": asdict(load)}
            result |= asyncio.run(measure_build(service, load, Path(workdir)))
        results.append(result)
    RESULTS.mkdir(exist_ok=True)
    name = "-vs-".join(label.replace(" ", "_") for label, _ in builds)
    (RESULTS / f"followers-{name}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
