"""`flyte.run` with no Flyte config: the task runs in process against a real batch service."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from batch_testkit.processes import base_env
from batch_testkit.servers import BatchService
from tests.connector.conftest import ALICE_KEY, BOB_KEY

REPO = Path(__file__).resolve().parents[2]


def run_locally(
    command: list[str], home: Path, service: BatchService, program: str = sys.executable, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `command` as a user would, with a bare HOME so that no Flyte config can be found.

    Wide COLUMNS keeps Flyte's rich console from wrapping the messages the tests look for.
    """
    environment = base_env({"BATCH_API_URL": service.url, "HOME": str(home), "COLUMNS": "1000", **env})
    for config_variable in ("UCTL_CONFIG", "FLYTECTL_CONFIG"):
        environment.pop(config_variable, None)
    return subprocess.run(
        [program, *command], cwd=REPO, env=environment, capture_output=True, text=True, timeout=120
    )


def jobs_of(service: BatchService, key: str) -> list[dict[str, object]]:
    response = httpx.get(f"{service.url}/v1/jobs", headers={"Authorization": f"Bearer {key}"})
    response.raise_for_status()
    return response.json()["jobs"]


def unique_name() -> str:
    """A `name` input no other test uses, so each test finds exactly the jobs it made, in any order."""
    return f"local-{uuid.uuid4().hex[:12]}"


def jobs_named(service: BatchService, key: str, name: str) -> list[dict[str, object]]:
    """The owner's jobs whose `name` input is `name`, in full (a list carries summaries only)."""
    headers = {"Authorization": f"Bearer {key}"}
    full = [
        httpx.get(f"{service.url}/v1/jobs/{job['id']}", headers=headers).json()
        for job in jobs_of(service, key)
    ]
    return [job for job in full if job["inputs"] == {"name": name}]


def test_main_py_runs_locally_and_prints_the_result(live_service: BatchService, tmp_path: Path) -> None:
    name = unique_name()
    done = run_locally(["main.py", "--name", name], tmp_path, live_service, BATCH_API_KEY=ALICE_KEY)

    assert done.returncode == 0, done.stderr
    (job,) = jobs_named(live_service, ALICE_KEY, name)
    assert job["name"] == "my_batch_job"
    assert done.stdout.strip().splitlines()[-1] == f"output-from-{job['id']}"
    assert ALICE_KEY not in done.stdout + done.stderr


def test_main_py_without_a_key_says_what_to_do_in_one_line(
    live_service: BatchService, tmp_path: Path
) -> None:
    done = run_locally(["main.py", "--name", unique_name()], tmp_path, live_service)

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "main.py: batch API refused POST /v1/jobs: 401 Unauthorized: missing or invalid API key "
        "(no API key: name a per-task secret with BatchJobTask(api_key=<secret name>) "
        "or set BATCH_API_KEY for the connector)"
    ]


def test_a_failing_job_raises_with_the_services_error(live_service: BatchService, tmp_path: Path) -> None:
    done = run_locally(
        ["-m", "tests.connector.local_run", "--fail-message", "disk full on node 7"],
        tmp_path,
        live_service,
        BATCH_API_KEY=ALICE_KEY,
    )

    assert done.returncode != 0
    assert "RuntimeUserError: Failed to run the task local_batch_job" in done.stdout
    assert "failed: disk full on node 7" in done.stdout
    assert "result:" not in done.stdout


def test_a_per_task_key_resolves_from_the_environment(live_service: BatchService, tmp_path: Path) -> None:
    name = unique_name()
    done = run_locally(
        ["-m", "tests.connector.local_run", "--name", name, "--api-key-secret", "BOB_BATCH_KEY"],
        tmp_path,
        live_service,
        BOB_BATCH_KEY=BOB_KEY,
    )

    assert done.returncode == 0, done.stderr
    (job,) = jobs_named(live_service, BOB_KEY, name)
    assert f"result: output-from-{job['id']}" in done.stdout
    assert jobs_named(live_service, ALICE_KEY, name) == []
    assert BOB_KEY not in done.stdout + done.stderr


@pytest.mark.parametrize("env", [{}, {"BATCH_API_KEY": ALICE_KEY}])
def test_a_named_secret_missing_from_the_environment_is_an_error(
    live_service: BatchService, tmp_path: Path, env: dict[str, str]
) -> None:
    done = run_locally(
        ["-m", "tests.connector.local_run", "--api-key-secret", "NOT_SET_BATCH_KEY"],
        tmp_path,
        live_service,
        **env,
    )

    assert done.returncode != 0
    assert "Secret NOT_SET_BATCH_KEY not found in environment" in done.stdout


def test_flyte_run_local_runs_the_example_task_by_its_name(
    live_service: BatchService, tmp_path: Path
) -> None:
    name = unique_name()
    done = run_locally(
        ["run", "--local", "main.py", "my_batch_job", "--name", name],
        tmp_path,
        live_service,
        program=str(Path(sys.executable).parent / "flyte"),
        BATCH_API_KEY=ALICE_KEY,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (job,) = jobs_named(live_service, ALICE_KEY, name)
    assert f'o0="output-from-{job["id"]}"' in done.stdout
