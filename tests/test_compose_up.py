"""`docker compose up`, for real: the project's image built and docker-compose.yml run under a
container engine. The slow one (about 2 minutes; 5 on a fresh machine, which installs podman
and builds the stand-in images first): `pytest -m compose` runs only this, `-m "not compose"`
the rest.

`scripts/compose-engine.sh` provides the engine: Docker when one answers (the real images
are pulled), else Debian's podman with locally built stand-ins for the base images (see
scripts/compose-stand-ins.sh). Without either it fails, saying what is missing; it never skips.
The stack runs as its own compose project on free ports, and everything it created (and,
with podman, the engine itself) is removed at the end, whatever happened.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from flyteidl2.core.execution_pb2 import TaskExecution

from batch_testkit.drive import ConnectorDriver, demo_task, job_id_of
from batch_testkit.jobs import read_all_logs, wait_for_state
from batch_testkit.keys import bearer
from batch_testkit.platform import native_outputs, task_inputs, task_template
from batch_testkit.processes import free_port
from my_connector.task import BatchJobConfig
from tests.test_compose import (
    ALL_PROFILES,
    COMPOSE,
    COMPOSE_FILE,
    PUBLISHED_PORTS,
    ROOT,
    compose_config,
    compose_env,
)
from tests.test_readme import section, walkthrough

pytestmark = [pytest.mark.compose, pytest.mark.timeout(900)]

ENGINE = ROOT / "scripts" / "compose-engine.sh"


@dataclass
class Stack:
    """One compose project of docker-compose.yml, driven with the project's pinned Compose."""

    env: dict[str, str]
    demo: dict[str, str]  # the headers with the key the file gives the connector and the demo

    def compose(self, *args: str, timeout: float = 300) -> str:
        """Run compose; its output, or a failure carrying everything it said."""
        done = subprocess.run(
            [str(COMPOSE), "--file", str(COMPOSE_FILE), "--project-directory", str(ROOT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"compose {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def url(self, port_variable: str) -> str:
        return f"http://127.0.0.1:{self.env[port_variable]}"

    def health(self, *profiles: str) -> dict[str, str]:
        """Each running service's health as the engine reports it."""
        listed = self.compose(*(a for p in profiles for a in ("--profile", p)), "ps", "--format", "json")
        containers = [json.loads(line) for line in listed.splitlines() if line.strip()]
        return {container["Service"]: container["Health"] for container in containers}


@pytest.fixture(scope="module")
def engine_env() -> Iterator[dict[str, str]]:
    """What compose needs to reach the engine (nothing with Docker, DOCKER_HOST with podman)."""
    state = Path(tempfile.mkdtemp(prefix="compose-engine-"))  # short: it holds a socket path
    try:
        started = subprocess.run(
            [str(ENGINE), "start", str(state)], capture_output=True, text=True, timeout=600
        )
        assert started.returncode == 0, f"no container engine for compose:\n{started.stderr}"
        yield dict(line.split("=", 1) for line in started.stdout.splitlines())
    finally:
        stopped = subprocess.run(
            [str(ENGINE), "stop", str(state)], capture_output=True, text=True, timeout=300
        )
        shutil.rmtree(state, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr


@pytest.fixture(scope="module")
def stack(engine_env: dict[str, str]) -> Iterator[Stack]:
    """The default services built from this tree and healthy; the whole project removed after."""
    defaults = compose_config()["services"]
    # The service's default keys, and the ones the README's walkthrough uses (from its text).
    readme_keys = re.search(r'BATCH_API_KEYS="([^"]+)"', section("The batch API with curl"))
    assert readme_keys, "the README no longer starts its service with BATCH_API_KEYS"
    env = {
        **compose_env(),
        **engine_env,
        **{variable: str(free_port()) for variable in PUBLISHED_PORTS},  # the defaults may be taken
        "COMPOSE_PROJECT_NAME": f"flyte-batch-test-{uuid.uuid4().hex[:8]}",
        "BATCH_API_KEYS": f"{defaults['batch-service']['environment']['BATCH_API_KEYS']},{readme_keys[1]}",
    }
    stack = Stack(env=env, demo=bearer(defaults["connector"]["environment"]["BATCH_API_KEY"]))
    try:
        stack.compose("build", timeout=600)
        stack.compose("up", "--detach", "--wait", "--wait-timeout", "180")
        yield stack
    finally:
        all_profiles = [a for p in ALL_PROFILES for a in ("--profile", p)]
        stack.compose(*all_profiles, "down", "--volumes", "--remove-orphans")
        assert stack.compose(*all_profiles, "ps", "--all", "--quiet").strip() == "", "containers left behind"


def test_up_wait_brings_the_service_and_the_connector_to_healthy(stack: Stack) -> None:
    health = stack.health()  # the postgres profile's services too, if another test started them
    assert {service: health.get(service) for service in ("batch-service", "connector")} == {
        "batch-service": "healthy",
        "connector": "healthy",
    }
    assert httpx.get(f"{stack.url('SERVICE_PORT')}/readyz", timeout=10).status_code == 200


def test_the_readme_walkthrough_works_against_the_published_port(stack: Stack, tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough()],
        cwd=tmp_path,
        env={**compose_env(), "API": stack.url("SERVICE_PORT")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    job_id = out[0].removeprefix("submitted ")
    assert re.fullmatch(r"job-[0-9a-f]{24}", job_id), out
    assert out[1] == f"{{'result': 'output-from-{job_id}'}}"
    assert out[-3:] == ["CANCELLED", "hello", "[]"]  # cancel, the label filter, bob sees nothing


async def test_compose_run_demo_prints_the_result_of_a_job_the_service_ran(stack: Stack) -> None:
    printed = stack.compose("run", "--rm", "demo").splitlines()  # as the README says

    result = printed[-1] if printed else ""
    assert re.fullmatch(r"output-from-job-[0-9a-f]{24}", result), printed
    async with httpx.AsyncClient(base_url=stack.url("SERVICE_PORT"), timeout=10) as client:
        job = await wait_for_state(client, result.removeprefix("output-from-"), headers=stack.demo)
    assert job["state"] == "SUCCEEDED"
    assert job["outputs"] == {"result": result}


async def test_gettask_over_the_published_grpc_port_runs_a_job_in_the_service_by_its_name(
    stack: Stack,
) -> None:
    task = demo_task(BatchJobConfig(timeout_seconds=60, duration_seconds=1, log_lines=5))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.env['CONNECTOR_PORT']}") as channel:
        platform = ConnectorDriver(channel)  # no per-task key: the connector uses its own
        meta = await platform.create(task_template(task), await task_inputs(task, name="compose"))
        resource = await platform.wait(meta, poll_interval=0.2)
        logs = await platform.read_logs(meta)

    job_id = job_id_of(meta)
    assert resource.phase == TaskExecution.SUCCEEDED, resource.message
    assert await native_outputs(task, resource.outputs) == {"result": f"output-from-{job_id}"}
    assert len(logs.lines) == 5
    # The connector links the logs where it reached the service: by its compose service name.
    assert [link.uri for link in resource.log_links] == [f"http://batch-service:8080/v1/jobs/{job_id}/logs"]
    async with httpx.AsyncClient(base_url=stack.url("SERVICE_PORT"), timeout=10) as client:
        job = (await client.get(f"/v1/jobs/{job_id}", headers=stack.demo)).json()
    assert job["state"] == "SUCCEEDED"
    assert job["spec"]["inputs"] == {"name": "compose"}


async def snapshot(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Every job of one owner and its complete log, by id."""
    jobs = (await client.get("/v1/jobs", params={"limit": 500}, headers=headers)).json()["jobs"]
    return {job["id"]: (job, await read_all_logs(client, job["id"], headers=headers)) for job in jobs}


async def test_down_then_up_keeps_every_job_and_log_line(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url("SERVICE_PORT"), timeout=10) as client:
        for number in range(3):
            spec = {"name": f"keep-{number}", "duration_seconds": 0.5, "log_lines": 20 + number}
            submitted = await client.post("/v1/jobs", json=spec, headers=stack.demo)
            assert submitted.status_code == 201, submitted.text
            await wait_for_state(client, submitted.json()["id"], headers=stack.demo)
        before = await snapshot(client, stack.demo)
    assert len(before) >= 3

    stack.compose(*(a for p in ALL_PROFILES for a in ("--profile", p)), "down")
    stack.compose("up", "--detach", "--wait", "--wait-timeout", "180")

    async with httpx.AsyncClient(base_url=stack.url("SERVICE_PORT"), timeout=10) as client:
        after = await snapshot(client, stack.demo)
    assert after == before


async def test_postgres_profile_replicas_share_one_database(stack: Stack) -> None:
    stack.compose("--profile", "postgres", "up", "--detach", "--wait", "--wait-timeout", "180")
    assert stack.health("postgres") == {
        "batch-service": "healthy",
        "connector": "healthy",
        "postgres": "healthy",
        "batch-service-pg-1": "healthy",
        "batch-service-pg-2": "healthy",
    }

    spec = {"name": "shared", "duration_seconds": 1, "log_lines": 7, "labels": {"via": "replica-1"}}
    async with httpx.AsyncClient(base_url=stack.url("REPLICA_1_PORT"), timeout=10) as replica_1:
        submitted = await replica_1.post("/v1/jobs", json=spec, headers=stack.demo)
    assert submitted.status_code == 201, submitted.text
    async with httpx.AsyncClient(base_url=stack.url("REPLICA_2_PORT"), timeout=10) as replica_2:
        job = await wait_for_state(replica_2, submitted.json()["id"], headers=stack.demo)
        lines = await read_all_logs(replica_2, job["id"], headers=stack.demo)
    assert job["state"] == "SUCCEEDED"
    assert job["labels"] == {"via": "replica-1"}
    assert [line["seq"] for line in lines] == list(range(7))
