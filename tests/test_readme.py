"""The README's front door keeps its promises: its two commands, and a curl walkthrough that
works as written against a real `batch-service`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.utils.servers import base_env, run_batch_service

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def walkthrough() -> str:
    block = README.split("<!-- walkthrough -->", 1)[1]
    match = re.search(r"```bash\n(.*?)```", block, re.DOTALL)
    assert match, "the README lost its walkthrough block"
    return match.group(1)


def test_the_first_screen_gives_the_demo_and_test_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:30])
    assert "make demo" in first_screen
    assert "make test" in first_screen


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_the_curl_walkthrough_works_as_written(tmp_path: Path) -> None:
    with run_batch_service(tmp_path, api_keys="alice:alice-key,bob:bob-key") as service:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walkthrough()],
            cwd=tmp_path,
            env=base_env({"API": service.url}),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.splitlines()
    assert re.fullmatch(r"submitted job-[0-9a-f]{24}", out[0])
    job_id = out[0].removeprefix("submitted ")
    assert out[1] == f"{{'result': 'output-from-{job_id}'}}"
    assert out[2] == "hello: step 1 of 6 done"
    assert out[3] == "None"  # the second page of a finished job ends the log
    assert out[4] == "0"  # the logs token read line 0
    assert out[5] == "event: end"  # the live follow ran to the end of the finished job's log
    assert out[6].startswith('data: {"state": "SUCCEEDED", "log_line_count": 6')
    assert out[-3:] == ["CANCELLED", "hello", "[]"]
