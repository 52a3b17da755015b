"""The SQLite file vanishes or stops taking writes under a running service: it says so.

The attacks (issue #9.3, plus a full disk): after `rm batch.db*` submits kept answering 201 into a deleted
inode and /readyz stayed 200, so a restart lost every job acknowledged since; with the
files made immutable (`chattr +i`), submits answered plain-text 500 while /readyz said 200
and running jobs froze. Now nothing is acknowledged that is not in the file the service
started on, /readyz proves that file is in place and writable, storage errors are JSON
503 with Retry-After, and the service recovers by itself once the file is writable again.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from batch_testkit.jobs import read_all_logs, wait_for_state
from batch_testkit.keys import ALICE
from batch_testkit.servers import BatchService, run_batch_service
from tests.utils.availability import assert_unavailable, readiness, wait_for_readiness

SUBMITS = 20


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """`chattr +i`: not even root may write, through descriptors already open too."""
    subprocess.run(["chattr", "+i", *map(str, paths)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


@contextmanager
def disk_full(pid: int) -> Iterator[None]:
    """Every file write of process `pid` fails (RLIMIT_FSIZE 0: EFBIG), as on a full disk."""
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def remove_database_files(directory: Path) -> set[str]:
    """`rm batch.db*`: the database, its -wal and -shm, and the lock file."""
    removed = list(directory.glob("batch.db*"))
    for path in removed:
        path.unlink()
    return {path.name for path in removed}


def database_files(service: BatchService) -> list[Path]:
    database = Path(service.database_url.removeprefix("sqlite:///"))
    return [database, database.with_name(database.name + "-wal")]


async def test_after_the_files_are_removed_no_submit_is_acknowledged(tmp_path: Path) -> None:
    with run_batch_service(tmp_path) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            assert (await client.post("/v1/jobs", json={"name": "before"}, headers=ALICE)).status_code == 201
            assert remove_database_files(tmp_path) >= {"batch.db", "batch.db-wal"}

            responses = await asyncio.gather(
                *(client.post("/v1/jobs", json={"name": f"after-{i}"}, headers=ALICE) for i in range(SUBMITS))
            )
            for response in responses:
                assert_unavailable(response)
            keyed = await client.post(
                "/v1/jobs", json={"name": "keyed"}, headers={**ALICE, "Idempotency-Key": "after-rm"}
            )
            assert_unavailable(keyed)
            status, detail = await readiness(client)
            assert status == 503 and detail.startswith("the database file batch.db was removed")
        assert "Traceback" not in service.server.log()


async def test_immutable_files_give_json_503_then_the_service_recovers_by_itself(tmp_path: Path) -> None:
    with run_batch_service(tmp_path) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            spec = {"name": "survivor", "duration_seconds": 3, "log_lines": 30}
            survivor = (await client.post("/v1/jobs", json=spec, headers=ALICE)).json()
            await wait_for_state(client, survivor["id"], {"RUNNING"})

            with immutable(*database_files(service)):
                for response in await asyncio.gather(
                    *(client.post("/v1/jobs", json={"name": f"n-{i}"}, headers=ALICE) for i in range(SUBMITS))
                ):
                    assert_unavailable(response)
                assert_unavailable(await client.post(f"/v1/jobs/{survivor['id']}/cancel", headers=ALICE))
                status, detail = await readiness(client)
                assert status == 503 and "the database refused a write" in detail
                await wait_for_readiness(client, 503, "running jobs are paused")
                # Reads still work: the jobs are there, only frozen, and the service says so.
                assert (await client.get(f"/v1/jobs/{survivor['id']}", headers=ALICE)).status_code == 200

            await wait_for_readiness(client, 200)
            assert (await client.post("/v1/jobs", json={"name": "later"}, headers=ALICE)).status_code == 201
            done = await wait_for_state(client, survivor["id"])
            assert (done["state"], done["log_line_count"]) == ("SUCCEEDED", 30)
            assert [line["seq"] for line in await read_all_logs(client, survivor["id"])] == list(range(30))
        log = service.server.log()
        assert "running jobs are paused until it works again" in log
        assert "scheduler recovered after" in log


async def test_a_full_disk_gives_json_503_then_the_service_recovers_by_itself(tmp_path: Path) -> None:
    with run_batch_service(tmp_path) as service:
        assert service.server.process is not None
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            spec = {"name": "survivor", "duration_seconds": 3, "log_lines": 30}
            survivor = (await client.post("/v1/jobs", json=spec, headers=ALICE)).json()
            await wait_for_state(client, survivor["id"], {"RUNNING"})

            with disk_full(service.server.process.pid):
                big = {"name": "big", "inputs": {"blob": "x" * 100_000}}
                for response in await asyncio.gather(
                    *(client.post("/v1/jobs", json=big, headers=ALICE) for _ in range(SUBMITS))
                ):
                    assert_unavailable(response)
                await wait_for_readiness(client, 503, "running jobs are paused")

            await wait_for_readiness(client, 200)
            assert (await client.post("/v1/jobs", json=big, headers=ALICE)).status_code == 201
            done = await wait_for_state(client, survivor["id"])
            assert (done["state"], done["log_line_count"]) == ("SUCCEEDED", 30)
            assert [line["seq"] for line in await read_all_logs(client, survivor["id"])] == list(range(30))
