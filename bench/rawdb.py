"""Jobs stored with nothing but the stdlib `sqlite3`: the database's own cost, without the service.

The schema is the service's own (its Alembic migrations), the durability its own (WAL,
synchronous=FULL), and a submit is what the service's is: one job row and its labels in
one transaction. `submit_job` times these inserts alone; the baseline app serves them
behind bare endpoints ("bare + SQLite"), the floor for any endpoint that touches the
database from a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from batch_service.db import make_engine, migrate

OWNER = "alice"
INSERT_JOB = (
    "INSERT INTO jobs (id, owner, name, state, spec, created_at, log_line_count, spec_hash) "
    "VALUES (?, ?, ?, 'QUEUED', ?, ?, 0, ?)"
)
INSERT_LABEL = "INSERT INTO job_labels (job_pk, key, value) VALUES (?, ?, ?)"
SELECT_JOB = (
    "SELECT id, name, state, spec, outputs, error, created_at, started_at, finished_at, log_line_count "
    "FROM jobs WHERE id = ? AND owner = ?"
)


def create_database(path: Path) -> None:
    """An empty database with the service's schema."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
    finally:
        engine.dispose()


def copy_database(source: Path, destination: Path) -> None:
    """A consistent copy of a live database (SQLite's backup API): the floor reads the very row
    the service serves, in the same schema, with the same neighbours."""
    with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(destination)) as writing:
        reading.backup(writing)


def connect(path: Path | str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def insert_job(connection: sqlite3.Connection, job_id: str, spec: dict[str, Any]) -> None:
    """One submit: the job and its labels, one commit."""
    connection.execute("BEGIN")
    cursor = connection.execute(
        INSERT_JOB, (job_id, OWNER, spec["name"], json.dumps(spec), time.time(), "0" * 64)
    )
    for key, value in spec.get("labels", {}).items():
        connection.execute(INSERT_LABEL, (cursor.lastrowid, key, value))
    connection.execute("COMMIT")


def read_job(connection: sqlite3.Connection, job_id: str) -> dict[str, Any] | None:
    row = connection.execute(SELECT_JOB, (job_id, OWNER)).fetchone()
    if row is None:
        return None
    keys = ("id", "name", "state", "spec", "outputs", "error", "created_at", "started_at", "finished_at")
    job = dict(zip(keys, row, strict=False))
    job["spec"] = json.loads(job["spec"])
    job["outputs"] = json.loads(job["outputs"]) if job["outputs"] else None
    job["log_line_count"] = row[-1]
    return job


def insert_rate(path: Path, spec: dict[str, Any], inserts: int) -> dict[str, Any]:
    """Submits per second through `insert_job` alone, one thread, on a fresh database at `path`."""
    create_database(path)
    connection = connect(path)
    try:
        started = time.perf_counter()
        for index in range(inserts):
            insert_job(connection, f"job-raw-{index:020d}", spec)
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    return {"inserts": inserts, "seconds": elapsed, "rate": inserts / elapsed}
