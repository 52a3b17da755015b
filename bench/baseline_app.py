"""The bare FastAPI baseline: the service's two hottest routes with nothing behind them.

No auth, no middleware, no database, no scheduler: a path (or a validated body) in, a
document of the same shape as the service's job resource out, serialized the way the
service serializes (`pydantic_core.to_json` into a `Response`, no re-validation of the
return value: doing more than the service would flatter it). The service's
throughput is judged as a share of this app's, served by uvicorn with the settings
`batch-service` uses (`batch_service/cli.py`): one process, the default (auto) loop and
HTTP implementations, log level info (so access logs on), no proxy headers.

With `--database PATH` (a database made by `bench.rawdb.create_database`) it also serves
the same two routes under `/db/`, each doing what the service's database work minimally
is, with the stdlib `sqlite3` in worker threads (readers in a pool, one writer thread,
as the service does): the floor for a database-backed endpoint in this stack. Reported
alongside, not judged.

    python -m bench.baseline_app --port 8090 [--database bench.db]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI, HTTPException, Response, status
from pydantic import BaseModel, Field
from pydantic_core import to_json

from batch_service.db import READER_THREADS
from bench import rawdb

T = TypeVar("T")

CREATED_AT = "2026-01-01T00:00:00Z"

app = FastAPI(title="bench baseline")


class SpecBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    inputs: dict[str, Any] = Field(default_factory=dict)
    duration_seconds: float = 5
    timeout_seconds: int = 300
    log_lines: int = 10
    fail_message: str | None = None
    outputs: dict[str, Any] | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class JobBody(BaseModel):  # for the OpenAPI schema only, as the service's response models
    id: str
    name: str
    state: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    error: str | None
    spec: SpecBody
    labels: dict[str, str]
    created_at: str
    started_at: str | None
    finished_at: str | None
    log_line_count: int
    retryable: bool


class CreatedBody(JobBody):
    logs_token: str


def job_body(job_id: str, spec: dict[str, Any], *, running: bool = False) -> dict[str, Any]:
    """The job document, built per request from a stored spec, as the service's `job_document`:
    a finished job, or (`running`) one still running."""
    return {
        "id": job_id,
        "name": spec["name"],
        "state": "RUNNING" if running else "SUCCEEDED",
        "inputs": spec["inputs"],
        "outputs": None if running else {"result": f"output-from-{job_id}"},
        "error": None,
        "spec": spec,
        "labels": spec["labels"],
        "created_at": CREATED_AT,
        "started_at": CREATED_AT,
        "finished_at": None if running else CREATED_AT,
        "log_line_count": spec["log_lines"],
        "retryable": False,
    }


def json_response(document: dict[str, Any], status_code: int = status.HTTP_200_OK) -> Response:
    """As `batch_service/api/responses.py`: serialized once, the response model kept for the schema."""
    return Response(content=to_json(document), status_code=status_code, media_type="application/json")


SAMPLE_SPEC = SpecBody(
    name="bench-job", inputs={"n": 1}, duration_seconds=0, labels={"bench": "get"}
).model_dump(mode="json")
LOGS_TOKEN = "bjl_" + "x" * 43


@app.get("/v1/jobs/{job_id}", response_model=JobBody)
async def get_job(job_id: str) -> Response:
    return json_response(job_body(job_id, SAMPLE_SPEC))


@app.get("/running/v1/jobs/{job_id}", response_model=JobBody)
async def get_running_job(job_id: str) -> Response:
    """The same, for a job still running: what `http_noop_job` reads in the GetTask benchmark."""
    return json_response(job_body(job_id, SAMPLE_SPEC, running=True))


@app.post("/v1/jobs", status_code=status.HTTP_201_CREATED, response_model=CreatedBody)
async def submit_job(spec: SpecBody) -> Response:
    body = job_body("job-000000000000000000000000", spec.model_dump(mode="json"))
    return json_response({**body, "logs_token": LOGS_TOKEN}, status.HTTP_201_CREATED)


class SqliteThreads:
    """A connection per thread; reads on a pool of threads, writes on one, like the service."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="db-read")  # as the service
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="db-write")

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = rawdb.connect(self.path)
        return connection

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, lambda: work(self._connection()))

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, lambda: work(self._connection()))


def database_routes(db: SqliteThreads) -> APIRouter:
    router = APIRouter(prefix="/db")

    @router.get("/v1/jobs/{job_id}", response_model=JobBody)
    async def get_stored_job(job_id: str) -> Response:
        job = await db.read(lambda connection: rawdb.read_job(connection, job_id))
        if job is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "job not found")
        stored = {"state": job["state"], "outputs": job["outputs"]}
        return json_response({**job_body(job_id, job["spec"]), **stored})

    @router.post("/v1/jobs", status_code=status.HTTP_201_CREATED, response_model=CreatedBody)
    async def store_job(spec: SpecBody) -> Response:
        job_id = "job-" + secrets.token_hex(12)
        stored = spec.model_dump(mode="json")
        await db.write(lambda connection: rawdb.insert_job(connection, job_id, stored))
        return json_response({**job_body(job_id, stored), "logs_token": LOGS_TOKEN}, status.HTTP_201_CREATED)

    return router


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--database", type=Path, help="serve /db/ routes on this SQLite file")
    args = parser.parse_args(argv)
    if args.database:
        app.include_router(database_routes(SqliteThreads(args.database)))
    # Mirrors batch_service/cli.py's uvicorn.run call; keep the two in step.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
