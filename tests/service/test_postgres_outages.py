"""PostgreSQL away, or there but silent: the service answers, says so, and comes back.

The attacks (issue #9.5): with PostgreSQL unreachable after start, `/v1` and `/metrics`
answered plain-text 500 without Retry-After; a database that accepts connections but never
answers made `/v1` calls and start-up hang forever, and start-up failures printed a
150-line traceback. The database here is real: a fresh PostgreSQL database reached through
a TCP proxy the test takes down, or makes silent, under a running `batch-service`.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import make_url

from batch_testkit.jobs import read_all_logs, wait_for_state
from batch_testkit.keys import ALICE, DEFAULT_KEYS
from batch_testkit.servers import BIN_DIR, base_env, free_port, run_batch_service
from tests.utils.availability import assert_unavailable, wait_for_readiness
from tests.utils.postgres import ADMIN_URL
from tests.utils.tcp_proxy import TcpProxy, tcp_proxy

TIMEOUTS = {"BATCH_DATABASE_CONNECT_TIMEOUT": "2", "BATCH_DATABASE_STATEMENT_TIMEOUT": "1"}
ANSWER_WITHIN_SECONDS = 30  # far above the ~3 s the timeouts allow: a bound, not a measurement


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose kernel completes every TCP handshake and nobody ever answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as listener:
        yield int(listener.getsockname()[1])


def start_service(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {"BATCH_API_KEYS": DEFAULT_KEYS, "BATCH_DATABASE_URL": database_url, "BATCH_PORT": str(free_port())}
    return subprocess.run(
        [str(BIN_DIR / "batch-service")],
        env=base_env({**env, **TIMEOUTS}),
        capture_output=True,
        text=True,
        timeout=ANSWER_WITHIN_SECONDS,
    )


@pytest.mark.parametrize("database", ["silent", "refusing"])
def test_start_up_gives_up_with_one_line(database: str, request: pytest.FixtureRequest) -> None:
    port = request.getfixturevalue("silent_port") if database == "silent" else free_port()
    url = f"postgresql+psycopg://batch:s3cret-password@127.0.0.1:{port}/jobs"
    result = start_service(url)

    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    shown = f"postgresql+psycopg://batch:***@127.0.0.1:{port}/jobs"
    assert line.startswith(f"batch-service: cannot start: the database at {shown} does not answer: ")
    assert "s3cret-password" not in result.stderr + result.stdout


def through(proxy: TcpProxy, postgres_url: str) -> str:
    return make_url(postgres_url).set(port=proxy.port).render_as_string(hide_password=False)


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    port = make_url(postgres_url).port or 5432
    with tcp_proxy(port) as running:
        yield running


@pytest.mark.parametrize("outage", ["down", "silent"])
async def test_while_postgres_is_away_calls_are_json_503_and_it_comes_back_without_a_restart(
    tmp_path: Path, postgres_url: str, proxy: TcpProxy, outage: str
) -> None:
    take_away: Callable[[], None] = getattr(proxy, outage)
    with run_batch_service(tmp_path, database_url=through(proxy, postgres_url), env=TIMEOUTS) as service:
        pid = service.server.process.pid if service.server.process else None
        async with httpx.AsyncClient(base_url=service.url, timeout=ANSWER_WITHIN_SECONDS) as client:
            spec = {"name": "through-it", "duration_seconds": 4, "log_lines": 20}
            job = (await client.post("/v1/jobs", json=spec, headers=ALICE)).json()
            await wait_for_state(client, job["id"], {"RUNNING"})

            take_away()
            for call in (
                client.get("/v1/jobs", headers=ALICE),
                client.get(f"/v1/jobs/{job['id']}", headers=ALICE),
                client.post("/v1/jobs", json={"name": "during"}, headers=ALICE),
                client.get("/metrics"),
            ):
                assert_unavailable(await call)
            await wait_for_readiness(client, 503, "running jobs are paused")

            proxy.up()
            await wait_for_readiness(client, 200)
            assert (await client.post("/v1/jobs", json={"name": "after"}, headers=ALICE)).status_code == 201
            assert (await client.get("/metrics")).status_code == 200
            done = await wait_for_state(client, job["id"], within=60)
            assert (done["state"], done["log_line_count"]) == ("SUCCEEDED", 20)
            assert [line["seq"] for line in await read_all_logs(client, job["id"])] == list(range(20))
        assert service.server.process is not None and service.server.process.pid == pid
        assert "scheduler recovered after" in service.server.log()


def drop_and_recreate(postgres_url: str) -> None:
    """An operator's mistake: the service's database dropped (its sessions ended) and made anew."""
    name = make_url(postgres_url).database
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


async def test_a_database_dropped_and_recreated_empty_is_503_and_readiness_says_why(
    tmp_path: Path, postgres_url: str
) -> None:
    with run_batch_service(tmp_path, database_url=postgres_url, env=TIMEOUTS) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=ANSWER_WITHIN_SECONDS) as client:
            assert (await client.post("/v1/jobs", json={"name": "before"}, headers=ALICE)).status_code == 201
            drop_and_recreate(postgres_url)
            for attempt in range(2):  # the first call may meet a connection the drop ended
                for call in (
                    client.get("/v1/jobs", headers=ALICE),
                    client.post("/v1/jobs", json={"name": f"after-{attempt}"}, headers=ALICE),
                ):
                    assert_unavailable(await call)
            await wait_for_readiness(client, 503, "the database has lost its tables")
