"""A log page at line 1,000,000 against the same page fetch at line 0 of the same job.

The job (`duration_seconds=0, log_lines=1_000_000`) is written by the scheduler at most
50,000 lines a tick, so the benchmark first waits for it to finish (and reports how fast
the lines went in). The page token for the far end is built with the service's own
encoder, `encode_page_token("logs", 999_000)`; it is checked first against the token the
API itself hands out after page 0, so the two are known to be the same kind of token.
Fetches alternate between the two positions, one connection, one request at a time.
Target: the far page takes at most 1.5x as long as the first.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from batch_service.tokens import encode_page_token
from batch_testkit.jobs import submit, wait_for_state
from batch_testkit.keys import ALICE
from bench.context import BenchContext
from bench.procs import run_batch_service
from bench.report import BenchResult, Check, median

NAME = "log_page_far"
TITLE = "log page at line 1,000,000 vs line 0"
TARGET_RATIO = 1.5
PAGE_LIMIT = 1000
WRITE_TIMEOUT_SECONDS = 600.0


async def _fetch(client: httpx.AsyncClient, path: str, token: str | None) -> tuple[float, dict[str, Any]]:
    params: dict[str, Any] = {"limit": PAGE_LIMIT, **({"page_token": token} if token else {})}
    started = time.perf_counter()
    response = await client.get(path, params=params)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()


async def run(ctx: BenchContext) -> BenchResult:
    workdir = ctx.subdir(NAME)
    lines = ctx.size(1_000_000, 3_000)
    far = lines - PAGE_LIMIT
    fetches = ctx.size(100, 10)
    with run_batch_service(workdir) as service:
        async with httpx.AsyncClient(base_url=service.url, headers=ALICE, timeout=30.0) as client:
            submitted = time.perf_counter()
            job = await submit(client, name="bench-log-1m", duration_seconds=0, log_lines=lines)
            finished = await wait_for_state(client, job["id"], within=WRITE_TIMEOUT_SECONDS)
            write_seconds = time.perf_counter() - submitted
            if finished["log_line_count"] != lines:
                raise RuntimeError(f"job wrote {finished['log_line_count']} of {lines} lines")

            path = f"/v1/jobs/{job['id']}/logs"
            _, first = await _fetch(client, path, None)
            if first["next_page_token"] != encode_page_token("logs", PAGE_LIMIT):
                raise RuntimeError("the API's page tokens are not encode_page_token's: fix the benchmark")
            far_token = encode_page_token("logs", far)
            _, last = await _fetch(client, path, far_token)
            if [line["seq"] for line in last["lines"]] != list(range(far, lines)) or last["next_page_token"]:
                raise RuntimeError("the far page is not the job's last lines")

            rounds: list[dict[str, Any]] = []
            for _ in range(ctx.rounds):
                near_ms: list[float] = []
                far_ms: list[float] = []
                for _ in range(fetches):
                    near_ms.append((await _fetch(client, path, None))[0] * 1000)
                    far_ms.append((await _fetch(client, path, far_token))[0] * 1000)
                rounds.append(
                    {
                        "line_0_ms_median": median(near_ms),
                        "far_ms_median": median(far_ms),
                        "ratio": median(far_ms) / median(near_ms),
                        "fetches_each": fetches,
                    }
                )
    measured = median([row["far_ms_median"] for row in rounds])
    reference = median([row["line_0_ms_median"] for row in rounds])
    ratio = measured / reference
    return BenchResult(
        name=NAME,
        title=TITLE,
        unit="ms/page",
        measured=measured,
        baseline=reference,
        ratio=ratio,
        baseline_title="same page fetch at line 0",
        checks=[Check("time ratio far/line 0", ratio, "<=", TARGET_RATIO)],
        rounds=rounds,
        settings={
            "log_lines": lines,
            "page_limit": PAGE_LIMIT,
            "far_position": far,
            "far_token": f'encode_page_token("logs", {far})',
            "write_seconds": write_seconds,
            "lines_written_per_second": lines / write_seconds,
        },
        notes=[
            f'The far page token was built with batch_service.tokens.encode_page_token("logs", {far}), '
            'after checking that the API\'s own token after page 0 is encode_page_token("logs", '
            f"{PAGE_LIMIT}); the far page was checked to hold exactly lines {far}..{lines - 1}.",
            "write_seconds: submit to SUCCEEDED, seen by polling (the scheduler writes <=50,000 lines/tick).",
        ],
        smoke=ctx.smoke,
    )
