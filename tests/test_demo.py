"""`make demo`'s script: the whole story end to end, leaving no process behind."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from batch_testkit.processes import base_env

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_runs_a_task_locally_and_over_grpc_then_stops_everything() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/demo.py"],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert out.count("output-from-job-") >= 3  # main.py's result, the job listing, drive's outputs
    assert "my_batch_job: step 10 of 10 done" in out  # the local run's job log
    assert "phase SUCCEEDED" in out  # over gRPC through c0
    assert "[INFO] drive_batch_job: step 20 of 20 done" in out
    api_url = re.search(r"batch API at (http://127\.0\.0\.1:\d+)", out)
    assert api_url, out
    with pytest.raises(httpx.ConnectError):  # the service it started is gone
        httpx.get(f"{api_url.group(1)}/healthz", timeout=2)
