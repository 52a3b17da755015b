"""A second `batch-service` on a SQLite file that a live one holds is refused, by name.

The attack (issue #9.4): a second process started silently on the same file, "resumed"
the first one's running jobs, and a cancel acknowledged as CANCELLED could end SUCCEEDED
when the two interleaved.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx

from batch_testkit.keys import ALICE, DEFAULT_KEYS
from batch_testkit.processes import base_env, free_port
from batch_testkit.servers import BIN_DIR, run_batch_service


def start_second(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {"BATCH_API_KEYS": DEFAULT_KEYS, "BATCH_DATABASE_URL": database_url, "BATCH_PORT": str(free_port())}
    return subprocess.run(
        [str(BIN_DIR / "batch-service")], env=base_env(env), capture_output=True, text=True, timeout=60
    )


def test_a_second_process_on_the_same_file_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with run_batch_service(tmp_path, env={"BATCH_MAX_RUNNING": "1"}) as first:
        long = httpx.post(
            f"{first.url}/v1/jobs", json={"name": "long", "duration_seconds": 600}, headers=ALICE
        )
        second = start_second(first.database_url)

        assert second.returncode == 1
        (line,) = second.stderr.strip().splitlines()
        assert line.startswith("batch-service: cannot start: ")
        assert f"pid {first.server.process.pid} on host {socket.gethostname()} since " in line
        assert "batch.db.lock" in line
        assert second.stdout == ""
        # The first process still owns its job and answers for it.
        job = httpx.get(f"{first.url}/v1/jobs/{long.json()['id']}", headers=ALICE).json()
        assert job["state"] in {"QUEUED", "RUNNING"}
        assert httpx.get(f"{first.url}/readyz").status_code == 200


def test_the_lock_dies_with_its_holder_even_by_kill_9(tmp_path: Path) -> None:
    with run_batch_service(tmp_path) as first:
        first.server.kill_hard()
        with run_batch_service(tmp_path, database_url=first.database_url) as successor:
            assert httpx.get(f"{successor.url}/readyz").status_code == 200
