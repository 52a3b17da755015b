"""An async client for the batch API (docs/api.md), and nothing Flyte-specific.

It knows the API only through HTTP and the models in `api.py` (never the service's own
code), so it works against any deployment of the API. Three decisions live here:

* **One pooled `httpx.AsyncClient` per event loop, over aiohttp's transport.** httpx pools
  connections per loop, and a pooled connection opened on one loop cannot be awaited from
  another. `c0` serves every call from one loop, but a local `flyte.run` drives the
  connector from its own loop, and tests from theirs, so the client keeps one `AsyncClient`
  per running loop. Its transport is `httpx-aiohttp`'s (httpx's API, aiohttp's HTTP/1.1):
  inside `c0` it costs about half the CPU per call of httpx's own (`python -m
  bench.transports`), and every pooled connection is kept alive, so the platform's many
  concurrent polls never pay for a new TCP connection.
* **Retries with stamina, within a deadline.** Connect errors, 5xx and 429 are retried with
  exponential backoff and jitter, honoring `Retry-After`, within a bound of attempts; the
  whole call, every attempt and wait included, ends by its deadline (`call_budget_seconds`
  by default), because the platform gives each connector call only a few seconds. POST is
  safe to retry because every create carries an `Idempotency-Key`.
* **Errors a user can act on.** A 4xx other than 429 is not retried and raises
  `BatchApiError` naming the call, the status and the service's `detail`. Keys and tokens
  travel only in headers, so they never reach a message.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import stamina
from httpx_aiohttp import AiohttpTransport
from pydantic import BaseModel, ValidationError

from my_connector.api import (
    BatchApiError,
    BatchJob,
    BatchServiceUnavailable,
    JobNotFound,
    JobRequest,
    LogPage,
    SubmittedJob,
    UsagePage,
)
from my_connector.retry_log import retried_call
from my_connector.settings import ConnectorSettings

ModelT = TypeVar("ModelT", bound=BaseModel)

# As many idle connections kept as may be open: closing the ones past a smaller keep-alive
# bound costs a TCP connect (and the service an accept) on every call once polls overlap.
POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)

MAX_CACHED_URLS = 10_000  # parsed API paths kept (one per job polled, about 1 KB each)

# Failures after which the same request may well succeed. Others (a bad URL scheme, a
# proxy refusing us) would fail identically on every attempt.
TRANSIENT_TRANSPORT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class _TransientStatus(Exception):
    """A 5xx or 429 answer, raised inside the retry loop so stamina can decide to try again."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code} {response.reason_phrase}")
        self.response = response
        self.retry_after = retry_after_seconds(response)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds from now: either delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_detail(response: httpx.Response) -> str:
    """The service's `detail`, flattened: FastAPI's 422 list becomes `field: message; …`."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text[:500] or response.reason_phrase
    if isinstance(detail, list):
        return "; ".join(_describe_validation_error(item) for item in detail)
    return str(detail) if detail is not None else response.reason_phrase


def _describe_validation_error(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", ()))
    return f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", item))


class BatchApiClient:
    """Calls the batch API with retries; one instance per process, one pooled client per event loop.

    A loop's client is dropped once that loop has closed (noticed when a new loop arrives).
    `transport` exists for tests (`httpx.MockTransport`); production uses httpx's default.
    """

    def __init__(
        self, settings: ConnectorSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.base_url = settings.api_url.rstrip("/")
        self._transport = transport
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}
        self._lock = threading.Lock()
        self._urls: dict[str, httpx.URL] = {}

    def logs_url(self, job_id: str) -> str:
        return f"{self.base_url}/v1/jobs/{quote(job_id, safe='')}/logs"

    async def submit_job(
        self, spec: JobRequest, *, api_key: str | None, idempotency_key: str
    ) -> SubmittedJob:
        """Create a job; the same `idempotency_key` and spec always return the same job."""
        response = await self._call(
            "POST",
            "/v1/jobs",
            bearer=api_key,
            json=spec.model_dump(mode="json", exclude_none=True),
            headers={"Idempotency-Key": idempotency_key},
        )
        return _parse(SubmittedJob, response)

    async def get_job(self, job_id: str, *, api_key: str | None) -> BatchJob:
        return _parse(BatchJob, await self._call("GET", _job_path(job_id), bearer=api_key))

    async def cancel_job(self, job_id: str, *, api_key: str | None) -> BatchJob:
        """Cancel a queued or running job; a terminal job comes back unchanged."""
        return _parse(BatchJob, await self._call("POST", f"{_job_path(job_id)}/cancel", bearer=api_key))

    async def get_log_page(
        self, job_id: str, *, logs_token: str, page_token: str | None, limit: int
    ) -> LogPage:
        """One page of logs, read with the job-scoped logs token rather than an owner's key."""
        params: dict[str, str | int] = {"limit": limit}
        if page_token:
            params["page_token"] = page_token
        response = await self._call("GET", f"{_job_path(job_id)}/logs", bearer=logs_token, params=params)
        return _parse(LogPage, response)

    async def get_usage_page(
        self, job_id: str, *, logs_token: str, page_token: str | None, limit: int, deadline: float
    ) -> UsagePage:
        """One page of the job's CPU and memory samples, read with its logs token; ends by `deadline`."""
        params: dict[str, str | int] = {"limit": limit}
        if page_token:
            params["page_token"] = page_token
        response = await self._call(
            "GET", f"{_job_path(job_id)}/usage", bearer=logs_token, params=params, deadline=deadline
        )
        return _parse(UsagePage, response)

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.get(loop)
            if client is None:
                for closed in [other for other in self._clients if other.is_closed()]:
                    del self._clients[closed]
                client = self._clients[loop] = httpx.AsyncClient(
                    base_url=self.base_url,
                    transport=self._transport or pooled_transport(),
                    timeout=None,  # every call is bounded as a whole by its deadline (see _call)
                    limits=POOL_LIMITS,
                    headers={"User-Agent": "flyte-batch-connector"},
                )
            return client

    def _url(self, path: str) -> httpx.URL:
        """`path` on the API, parsed once: the platform polls the same few paths over and over,
        and httpx would parse and join each relative path with the base URL on every call
        (about a tenth of a GetTask's CPU in `c0`)."""
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= MAX_CACHED_URLS:
                self._urls.clear()
            url = self._urls[path] = httpx.URL(self.base_url + path)
        return url

    async def _call(
        self,
        method: str,
        path: str,
        *,
        bearer: str | None,
        json: Any = None,
        params: dict[str, str | int] | None = None,
        headers: dict[str, str] | None = None,
        deadline: float | None = None,
    ) -> httpx.Response:
        """Send one API call, retrying transient failures until its deadline; raise for the rest.

        `deadline` (event-loop time) bounds the whole call, every attempt and wait included;
        by default it is `call_budget_seconds` from now. A wait that would end past it
        (a long `Retry-After`) ends the call at once instead of sleeping into the deadline.
        Without a bearer no `Authorization` header is sent: a service run with
        `BATCH_ALLOW_ANONYMOUS` accepts that, any other answers 401.
        """
        loop = asyncio.get_running_loop()
        if deadline is None:
            deadline = loop.time() + self.settings.call_budget_seconds
        http = self._http()
        url = self._url(path)
        request_headers = dict(headers or {})
        if bearer is not None:
            request_headers["Authorization"] = f"Bearer {bearer}"
        attempts = 0
        wait_past_deadline: float | None = None

        async def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            response = await http.request(method, url, json=json, params=params, headers=request_headers)
            if response.status_code == 429 or response.status_code >= 500:
                raise _TransientStatus(response)
            return response

        with retried_call(method, path, attempts=self.settings.retry_attempts) as call:

            def backoff(exc: Exception) -> bool | float:
                nonlocal wait_past_deadline
                call.cause = describe_failure(exc)
                wait = self._retry_backoff(exc)
                if not isinstance(wait, bool) and loop.time() + wait >= deadline:
                    wait_past_deadline = wait
                    return False
                return wait

            try:
                async with asyncio.timeout_at(deadline):
                    # The first attempt goes out directly: almost every call succeeds at once,
                    # and building stamina's retry context costs about a fifth of a GetTask's
                    # Python time in `c0`. A failed first attempt is replayed as stamina's own
                    # first attempt, so the schedule of retries is exactly stamina's.
                    try:
                        response = await attempt()
                    except (_TransientStatus, *TRANSIENT_TRANSPORT_ERRORS) as first_failure:
                        response = await self._retry_after_first_failure(first_failure, attempt, backoff)
            except TimeoutError:
                raise BatchServiceUnavailable(
                    f"batch API at {self.base_url} did not answer {method} {path} within "
                    f"{self.settings.call_budget_seconds:g} s (attempts: {attempts}, last: {call.cause})"
                ) from None
            except _TransientStatus as exc:
                failing = (
                    f"kept failing {method} {path} after {attempts} attempts"
                    if wait_past_deadline is None
                    else f"asked to retry {method} {path} in {wait_past_deadline:g} s, past this call's "
                    f"{self.settings.call_budget_seconds:g} s budget"
                )
                raise BatchServiceUnavailable(
                    f"batch API at {self.base_url} {failing}: {exc}: {error_detail(exc.response)}",
                    status_code=exc.response.status_code,
                ) from None
            except TRANSIENT_TRANSPORT_ERRORS as exc:
                raise BatchServiceUnavailable(
                    f"batch API at {self.base_url} unreachable for {method} {path} "
                    f"after {attempts} attempts: {describe_failure(exc)}"
                ) from exc
        if response.is_error:
            raise _refusal(method, path, response)
        return response

    async def _retry_after_first_failure(
        self,
        first_failure: Exception,
        attempt: Callable[[], Awaitable[httpx.Response]],
        backoff: Callable[[Exception], bool | float],
    ) -> httpx.Response:
        """Retry with stamina, its first attempt being the failure already seen (not resent)."""
        replay: Exception | None = first_failure
        async for retry in stamina.retry_context(
            on=backoff,
            attempts=self.settings.retry_attempts,
            timeout=None,
            wait_initial=0.2,
            wait_max=5.0,
            wait_jitter=0.5,
        ):
            with retry:
                if replay is not None:
                    failure, replay = replay, None
                    raise failure
                response = await attempt()
        return response  # stamina ends the loop after the first attempt that does not raise

    def _retry_backoff(self, exc: Exception) -> bool | float:
        """stamina's hook: False = give up now, True = usual backoff, a float = wait that long."""
        if isinstance(exc, _TransientStatus):
            if exc.retry_after is None:
                return True
            return min(exc.retry_after, self.settings.retry_after_cap_seconds)
        return isinstance(exc, TRANSIENT_TRANSPORT_ERRORS)


def pooled_transport() -> httpx.AsyncBaseTransport:
    """The transport of the connector's pooled client (and of the benchmark's HTTP baseline)."""
    return AiohttpTransport(limits=POOL_LIMITS)


def describe_failure(exc: Exception) -> str:
    """A failed attempt in a few words: `503 Service Unavailable` or `ConnectError: …`."""
    if isinstance(exc, _TransientStatus):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _job_path(job_id: str) -> str:
    return f"/v1/jobs/{quote(job_id, safe='')}"


def _refusal(method: str, path: str, response: httpx.Response) -> BatchApiError:
    detail = error_detail(response)
    error_type = JobNotFound if response.status_code == 404 else BatchApiError
    return error_type(
        f"batch API refused {method} {path}: {response.status_code} {response.reason_phrase}: {detail}",
        status_code=response.status_code,
    )


def _parse(model: type[ModelT], response: httpx.Response) -> ModelT:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        request = response.request
        raise BatchApiError(
            f"batch API answered {request.method} {request.url.path} with an unexpected body "
            f"({exc.error_count()} problems, first: {exc.errors()[0]['msg']})",
            status_code=response.status_code,
        ) from None
