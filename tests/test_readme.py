"""The README works as written: its make commands exist, CI runs its front-door commands, the
service starts as it says, the curl walkthrough and the bad-request example answer as shown,
and the task example builds a task."""

from __future__ import annotations

import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from batch_testkit.processes import ServerProcess, base_env, free_port, http_ready
from batch_testkit.servers import BIN_DIR
from my_connector import BatchJobTask

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
FRONT_DOOR = README.split("\n## ", 1)[0]  # everything above the first section


def section(title: str) -> str:
    """The README's text under `## title`, up to the next section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert match, f"the README lost its section {title!r}"
    return match.group(1)


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def make_targets(text: str) -> list[str]:
    """The targets of the `make …` commands in `text`'s bash blocks, in order of appearance."""
    return [
        target
        for block in code_blocks(text, "bash")
        for target in re.findall(r"^make ([\w-]+)", block, re.MULTILINE)
    ]


def walkthrough() -> str:
    block = README.split("<!-- walkthrough -->", 1)[1]
    match = re.search(r"```bash\n(.*?)```", block, re.DOTALL)
    assert match, "the README lost its walkthrough block"
    return match.group(1)


@pytest.fixture(scope="module")
def readme_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`batch-service` started by the README's own command line, in a fresh folder (where its
    default SQLite file lands), on a free port given as `BATCH_PORT`; yields its URL."""
    (start,) = [
        line
        for line in code_blocks(section("The batch API with curl"), "bash")[0].splitlines()
        if ".venv/bin/batch-service" in line
    ]
    port = free_port()
    workdir = tmp_path_factory.mktemp("readme-service")
    server = ServerProcess(
        name="the README's batch-service",
        command=["bash", "-c", start.replace(".venv/bin/", f"{BIN_DIR}/")],
        env=base_env({"BATCH_PORT": str(port)}),
        cwd=workdir,
        log_path=workdir / "batch-service.log",
        is_ready=http_ready(f"http://127.0.0.1:{port}/readyz"),
    )
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
    assert (workdir / "batch.db").exists()  # the default database, where the README's command put it


def run_bash(script: str, *, cwd: Path, api: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=base_env({"API": api}),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_python_versions_named_are_those_the_package_allows() -> None:
    needs = re.search(r"^Needs Python (.*?) \(", FRONT_DOOR, re.MULTILINE)
    assert needs, "the README no longer says which Python it needs"
    named = re.findall(r"3\.\d+", needs.group(1))
    allowed = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    assert named == [version for version in (f"3.{minor}" for minor in range(6, 30)) if version in allowed]


@pytest.mark.parametrize("target", sorted(set(make_targets(README))))
def test_every_make_command_in_the_readme_is_a_target(target: str) -> None:
    result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_ci_runs_the_front_door_commands(tmp_path: Path) -> None:
    """`.ci/run` itself, with a `make` on PATH that records what it is asked to do."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    calls = tmp_path / "make-calls"
    (fake_bin / "make").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    (fake_bin / "make").chmod(0o755)
    env = base_env()
    env["PATH"] = f"{fake_bin}:{env['PATH']}"
    result = subprocess.run(
        ["bash", ".ci/run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    front_door = make_targets(FRONT_DOOR)
    assert {"demo", "test"} <= set(front_door)
    assert set(front_door) <= set(calls.read_text().split())


def test_the_curl_walkthrough_works_as_written(readme_service: str, tmp_path: Path) -> None:
    result = run_bash(walkthrough(), cwd=tmp_path, api=readme_service)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.splitlines()
    assert re.fullmatch(r"submitted job-[0-9a-f]{24}", out[0])
    job_id = out[0].removeprefix("submitted ")
    assert out[1] == f"{{'result': 'output-from-{job_id}'}}"
    assert out[2] == "hello: step 1 of 6 done"
    assert out[3] == "None"  # the second page of a finished job ends the log
    assert out[4] == "0"  # the logs token read line 0
    assert out[5] == "part-2"  # the batch's jobs come back in the order of its specs
    assert out[6] == "event: end"  # the live follow ran to the end of the finished job's log
    assert out[7].startswith('data: {"state": "SUCCEEDED", "log_line_count": 6')
    assert out[-3:] == ["CANCELLED", "hello", "[]"]


def test_the_bad_request_example_answers_as_shown(readme_service: str, tmp_path: Path) -> None:
    (example,) = code_blocks(section("The batch API with curl"), "console")
    command, *expected = example.strip().splitlines()
    assert command.startswith("$ ")
    # The example reuses the walkthrough's API and AUTH variables, as a reader's shell would.
    variables = [line for line in walkthrough().splitlines() if re.match(r"(API|AUTH)=", line)]
    result = run_bash("\n".join([*variables, command.removeprefix("$ ")]), cwd=tmp_path, api=readme_service)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected


def test_the_task_example_builds_a_batch_job_task() -> None:
    (example,) = code_blocks(section("Writing tasks"), "python")
    namespace: dict[str, object] = {}
    exec(compile(example, "README.md (Writing tasks)", "exec"), namespace)
    task = namespace["batch_job"]
    assert isinstance(task, BatchJobTask)
    assert task.task_type == "batch_job"
