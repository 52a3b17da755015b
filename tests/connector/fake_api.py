"""The batch API's contract (docs/api.md), in memory, behind `httpx.MockTransport`.

Unit tests drive the client and the connector against this instead of a real service:
they can script faults, move jobs between states, and count every request made.
Only what the connector uses is modelled; the real service is tested end to end.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from batch_service.models import TERMINAL_STATES as TERMINAL
from batch_testkit.keys import ALICE_KEY, BOB_KEY
from my_connector.client import BatchApiClient
from my_connector.settings import ConnectorSettings

KEYS = {ALICE_KEY: "alice", BOB_KEY: "bob"}


@dataclass
class FakeJob:
    id: str
    owner: str
    spec: dict[str, Any]
    idempotency_key: str | None
    state: str = "QUEUED"
    outputs: dict[str, Any] | None = None
    error: str | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def logs_token(self) -> str:
        return f"logs-token-for-{self.id}"

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.spec["name"],
            "state": self.state,
            "inputs": self.spec.get("inputs", {}),
            "outputs": self.outputs,
            "error": self.error,
            "spec": {"timeout_seconds": 300, **self.spec},
            "labels": self.spec.get("labels", {}),
            "created_at": "2030-01-01T00:00:00Z",
            "started_at": None,
            "finished_at": None,
            "log_line_count": len(self.lines),
        }


class FakeBatchApi:
    """In-memory batch API. `fail_next` queues answers (or transport errors) served before any real one."""

    def __init__(self) -> None:
        self.jobs: dict[str, FakeJob] = {}
        self.requests: list[httpx.Request] = []
        self._faults: deque[httpx.Response | Exception] = deque()

    def client(self, **settings: Any) -> BatchApiClient:
        """A `BatchApiClient` wired to this fake; `settings` override `ConnectorSettings` fields."""
        values: dict[str, Any] = {"api_url": "http://batch.test", **settings}
        return BatchApiClient(ConnectorSettings(**values), transport=httpx.MockTransport(self.handle))

    def fail_next(self, *faults: httpx.Response | Exception) -> None:
        self._faults.extend(faults)

    def fail_always(self, fault: httpx.Response | Exception, times: int = 1000) -> None:
        self._faults.extend([fault] * times)

    def add_job(self, owner: str = "alice", state: str = "QUEUED", **fields: Any) -> FakeJob:
        job = FakeJob(
            id=f"job-{len(self.jobs) + 1}", owner=owner, spec={"name": "seeded"}, idempotency_key=None
        )
        job.state = state
        for name, value in fields.items():
            setattr(job, name, value)
        self.jobs[job.id] = job
        return job

    def write_lines(self, job: FakeJob, count: int, level: str = "INFO") -> None:
        for _ in range(count):
            seq = len(job.lines)
            job.lines.append(
                {
                    "seq": seq,
                    "timestamp": f"2030-01-01T00:00:{seq:02d}Z",
                    "level": level,
                    "message": f"line {seq}",
                }
            )

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self._faults:
            fault = self._faults.popleft()
            if isinstance(fault, Exception):
                raise fault
            return fault
        parts = request.url.path.strip("/").split("/")  # v1, jobs, {id}, [cancel|logs]
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if len(parts) == 4 and parts[3] == "logs":
            return self._logs(parts[2], bearer, request)
        owner = KEYS.get(bearer)
        if owner is None:
            return httpx.Response(
                401, json={"detail": "invalid API key"}, headers={"WWW-Authenticate": "Bearer"}
            )
        if parts == ["v1", "jobs"] and request.method == "POST":
            return self._create(owner, request)
        job = self.jobs.get(parts[2]) if len(parts) >= 3 else None
        if job is None or job.owner != owner:
            return httpx.Response(404, json={"detail": "job not found"})
        if len(parts) == 4 and parts[3] == "cancel" and job.state not in TERMINAL:
            job.state = "CANCELLED"
        return httpx.Response(200, json=job.public())

    def _create(self, owner: str, request: httpx.Request) -> httpx.Response:
        spec = json.loads(request.content)
        key = request.headers.get("Idempotency-Key")
        for job in self.jobs.values():
            if key is not None and job.owner == owner and job.idempotency_key == key:
                if job.spec != spec:
                    return httpx.Response(409, json={"detail": "Idempotency-Key reused with another spec"})
                return httpx.Response(200, json={**job.public(), "logs_token": job.logs_token})
        job = FakeJob(id=f"job-{len(self.jobs) + 1}", owner=owner, spec=spec, idempotency_key=key)
        self.jobs[job.id] = job
        return httpx.Response(201, json={**job.public(), "logs_token": job.logs_token})

    def _logs(self, job_id: str, bearer: str, request: httpx.Request) -> httpx.Response:
        job = self.jobs.get(job_id)
        if job is None or bearer != job.logs_token:
            return httpx.Response(401, json={"detail": "invalid logs token"})
        start = int(request.url.params.get("page_token") or 0)
        limit = int(request.url.params.get("limit", 100))
        page = job.lines[start : start + limit]
        end = start + len(page)
        drained = job.state in TERMINAL and end == len(job.lines)
        return httpx.Response(200, json={"lines": page, "next_page_token": None if drained else str(end)})
