"""A client for a batch service under test: the owners' calls, and the admin's levers.

Every helper checks the status it expects and fails with the service's answer otherwise,
so a test reads as the story it tells::

    job = batch.submit(name="etl", scenario=polls(running_after=1, finished_after=2))
    assert [batch.job(job["id"])["state"] for _ in range(3)] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    batch.add_rule("POST", "/v1/jobs", status=429, retry_after_seconds=1, count=3)
    batch.advance_clock(3600)
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from batch_testkit.jobs import job_spec
from batch_testkit.keys import ADMIN_KEY, OWNER_KEYS, bearer

ADMIN = "/admin/v1"
Json = dict[str, Any]


class UnexpectedAnswer(AssertionError):
    """The service answered a call with another status than the test expected."""


def expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise UnexpectedAnswer(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}, "
            f"expected {status}: {response.text[:2000]}"
        )
    return response


class BatchTestClient:
    """Talks to one service as its owners (by name) and as its admin."""

    def __init__(
        self,
        url: str,
        *,
        owner_keys: dict[str, str] | None = None,
        admin_key: str = ADMIN_KEY,
        timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.owner_keys = dict(OWNER_KEYS if owner_keys is None else owner_keys)
        self.admin_key = admin_key
        self.http = httpx.Client(base_url=url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> BatchTestClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def as_owner(self, owner: str) -> dict[str, str]:
        return bearer(self.owner_keys[owner])

    @property
    def as_admin(self) -> dict[str, str]:
        return bearer(self.admin_key)

    # --- what an owner does -------------------------------------------------------------

    def submit(self, *, owner: str = "alice", idempotency_key: str | None = None, **spec: Any) -> Json:
        """Submit `job_spec(**spec)`; the created job (with its `logs_token`)."""
        headers = self.as_owner(owner) | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
        return expect(self.http.post("/v1/jobs", json=job_spec(**spec), headers=headers), 201).json()

    def job(self, job_id: str, *, owner: str = "alice") -> Json:
        """One GET of the job: for a job whose scenario moves by polls, this is a poll."""
        return expect(self.http.get(f"/v1/jobs/{job_id}", headers=self.as_owner(owner)), 200).json()

    def cancel(self, job_id: str, *, owner: str = "alice") -> Json:
        return expect(self.http.post(f"/v1/jobs/{job_id}/cancel", headers=self.as_owner(owner)), 200).json()

    def log_page(
        self, job_id: str, *, owner: str = "alice", page_token: str | None = None, limit: int = 100
    ) -> Json:
        params: dict[str, Any] = {"limit": limit, **({"page_token": page_token} if page_token else {})}
        response = self.http.get(f"/v1/jobs/{job_id}/logs", params=params, headers=self.as_owner(owner))
        return expect(response, 200).json()

    def logs(
        self, job_id: str, *, owner: str = "alice", limit: int = 100, within: float = 30.0
    ) -> list[Json]:
        """Every line of a job's log, following page tokens until the log is complete."""
        lines: list[Json] = []
        token: str | None = None
        deadline = time.monotonic() + within
        while True:
            page = self.log_page(job_id, owner=owner, page_token=token, limit=limit)
            lines.extend(page["lines"])
            token = page["next_page_token"]
            if token is None:
                return lines
            if not page["lines"]:
                if time.monotonic() > deadline:
                    raise UnexpectedAnswer(f"the log of {job_id} was still open after {within} s")
                time.sleep(0.05)  # a running job has written nothing new yet

    # --- what the admin does ------------------------------------------------------------

    def add_rule(
        self,
        method: str,
        route: str,
        *,
        owner: str | None = None,
        probability: float = 1.0,
        count: int | None = None,
        seed: int | None = None,
        **action: Any,
    ) -> Json:
        """A chaos rule: `action` is `status=…, retry_after_seconds=…`, `delay_seconds=…` or `drop=True`."""
        rule = {"method": method, "route": route, "action": action, "probability": probability}
        rule |= {k: v for k, v in {"owner": owner, "count": count, "seed": seed}.items() if v is not None}
        return expect(self.http.post(f"{ADMIN}/rules", json=rule, headers=self.as_admin), 201).json()

    def rules(self) -> list[Json]:
        return expect(self.http.get(f"{ADMIN}/rules", headers=self.as_admin), 200).json()["rules"]

    def clear_rules(self) -> None:
        expect(self.http.delete(f"{ADMIN}/rules", headers=self.as_admin), 204)

    def journal(self, limit: int | None = None) -> list[Json]:
        """The calls the service received, oldest first."""
        params = {"limit": limit} if limit else {}
        return expect(self.http.get(f"{ADMIN}/journal", params=params, headers=self.as_admin), 200).json()[
            "calls"
        ]

    def clear_journal(self) -> None:
        expect(self.http.delete(f"{ADMIN}/journal", headers=self.as_admin), 204)

    def force_state(
        self, job_id: str, state: str, *, message: str | None = None, retryable: bool = False
    ) -> Json:
        body: Json = {"state": state, **({"message": message} if message else {})}
        if retryable:
            body["retryable"] = True
        response = self.http.post(f"{ADMIN}/jobs/{job_id}/state", json=body, headers=self.as_admin)
        return expect(response, 200).json()

    def reset(self) -> None:
        """Every job, log line and rule gone, the journal empty, the clock back to wall time."""
        expect(self.http.post(f"{ADMIN}/reset", headers=self.as_admin), 204)

    def clock(self) -> Json:
        return expect(self.http.get(f"{ADMIN}/clock", headers=self.as_admin), 200).json()

    def advance_clock(self, seconds: float) -> Json:
        """Move the service's time forward; returns once its scheduler has caught up."""
        response = self.http.post(f"{ADMIN}/clock/advance", json={"seconds": seconds}, headers=self.as_admin)
        return expect(response, 200).json()
