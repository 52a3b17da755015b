"""`pip install .` without the `postgres` extra is what `make demo` gets: the service must
run on SQLite without psycopg anywhere on its import path."""

from __future__ import annotations

from pathlib import Path

import httpx

from batch_testkit.keys import ALICE
from batch_testkit.servers import run_batch_service


def without_psycopg(tmp_path: Path) -> dict[str, str]:
    """A PYTHONPATH on which `import psycopg` fails, as in an install without the extra."""
    blocker = tmp_path / "no-psycopg" / "psycopg"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ImportError("psycopg is not installed")\n')
    return {"PYTHONPATH": str(blocker.parent)}


def test_the_service_runs_a_job_on_sqlite_without_psycopg(tmp_path: Path) -> None:
    with (
        run_batch_service(tmp_path, env=without_psycopg(tmp_path)) as service,
        httpx.Client(base_url=service.url, headers=ALICE, timeout=10) as client,
    ):
        job = client.post("/v1/jobs", json={"name": "plain", "duration_seconds": 0, "log_lines": 2})
        assert job.status_code == 201, job.text
        assert client.get("/readyz").status_code == 200
