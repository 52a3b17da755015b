"""The batch API client: what it sends, what it retries, what it refuses, and its pooling."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import stamina

from batch_testkit.keys import ALICE_KEY as ALICE
from my_connector.api import BatchApiError, BatchServiceUnavailable, JobNotFound, JobRequest
from my_connector.client import BatchApiClient, retry_after_seconds
from my_connector.settings import ConnectorSettings
from tests.connector.fake_api import FakeBatchApi


def unavailable(retry_after: str | None = "0") -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(503, json={"detail": "injected fault"}, headers=headers)


async def test_submit_sends_the_spec_the_key_and_the_idempotency_key(fake_api: FakeBatchApi) -> None:
    client = fake_api.client()
    spec = JobRequest(name="hello", inputs={"name": "x"}, timeout_seconds=60, labels={"team": "a"})

    job = await client.submit_job(spec, api_key=ALICE, idempotency_key="key-1")

    (request,) = fake_api.requests
    assert json.loads(request.content) == {
        "name": "hello",
        "inputs": {"name": "x"},
        "timeout_seconds": 60,
        "labels": {"team": "a"},
    }
    assert request.headers["Authorization"] == f"Bearer {ALICE}"
    assert request.headers["Idempotency-Key"] == "key-1"
    assert job.logs_token == fake_api.jobs[job.id].logs_token


async def test_5xx_429_and_connection_errors_are_retried_until_success(fake_api: FakeBatchApi) -> None:
    client = fake_api.client()
    job = fake_api.add_job()
    fake_api.fail_next(
        unavailable(),
        httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "0"}),
        httpx.Response(500, json={"detail": "boom"}),
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("read timed out"),
    )

    fetched = await client.get_job(job.id, api_key=ALICE)

    assert fetched.id == job.id
    assert len(fake_api.requests) == 6


async def test_a_retried_create_keeps_its_idempotency_key(fake_api: FakeBatchApi) -> None:
    client = fake_api.client()
    fake_api.fail_next(unavailable(), httpx.ReadTimeout("lost the answer"))

    await client.submit_job(JobRequest(name="once"), api_key=ALICE, idempotency_key="key-2")

    assert {r.headers["Idempotency-Key"] for r in fake_api.requests} == {"key-2"}
    assert len(fake_api.jobs) == 1


async def test_retries_are_bounded_and_then_fail_clearly(fake_api: FakeBatchApi) -> None:
    client = fake_api.client(retry_attempts=4)
    job = fake_api.add_job()
    fake_api.fail_always(unavailable())

    with pytest.raises(BatchServiceUnavailable) as raised:
        await client.get_job(job.id, api_key=ALICE)

    assert len(fake_api.requests) == 4
    message = str(raised.value)
    assert "503" in message and "injected fault" in message and "after 4 attempts" in message
    assert ALICE not in message


async def test_unreachable_service_fails_clearly_after_bounded_attempts(fake_api: FakeBatchApi) -> None:
    client = fake_api.client(retry_attempts=3)
    fake_api.fail_always(httpx.ConnectError("connection refused"))

    with pytest.raises(BatchServiceUnavailable, match=r"unreachable .* after 3 attempts: ConnectError"):
        await client.get_job("job-1", api_key=ALICE)
    assert len(fake_api.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 409, 422])
async def test_client_errors_are_not_retried_and_name_status_and_detail(
    fake_api: FakeBatchApi, status: int
) -> None:
    client = fake_api.client()
    detail = [{"loc": ["body", "timeout_seconds"], "msg": "Input should be greater than or equal to 1"}]
    fake_api.fail_next(httpx.Response(status, json={"detail": detail}))

    with pytest.raises(BatchApiError) as raised:
        await client.submit_job(JobRequest(name="bad"), api_key=ALICE, idempotency_key="key-3")

    assert len(fake_api.requests) == 1
    assert raised.value.status_code == status
    assert str(raised.value) == (
        f"batch API refused POST /v1/jobs: {status} {httpx.codes.get_reason_phrase(status)}: "
        "body.timeout_seconds: Input should be greater than or equal to 1"
    )
    assert not isinstance(raised.value, BatchServiceUnavailable)


async def test_a_wrong_key_is_refused_without_repeating_it(fake_api: FakeBatchApi) -> None:
    client = fake_api.client()

    with pytest.raises(BatchApiError) as raised:
        await client.get_job("job-1", api_key="not-a-real-key-value")

    assert raised.value.status_code == 401
    assert "invalid API key" in str(raised.value)
    assert "not-a-real-key-value" not in str(raised.value)


async def test_another_owners_job_is_not_found(fake_api: FakeBatchApi) -> None:
    client = fake_api.client()
    job = fake_api.add_job(owner="bob")

    with pytest.raises(JobNotFound):
        await client.get_job(job.id, api_key=ALICE)


async def test_logs_are_read_with_the_logs_token_page_by_page(fake_api: FakeBatchApi) -> None:
    client = fake_api.client()
    job = fake_api.add_job(state="SUCCEEDED")
    fake_api.write_lines(job, 5)

    first = await client.get_log_page(job.id, logs_token=job.logs_token, page_token=None, limit=3)
    second = await client.get_log_page(
        job.id, logs_token=job.logs_token, page_token=first.next_page_token, limit=3
    )

    assert [line.seq for line in first.lines] == [0, 1, 2]
    assert [line.seq for line in second.lines] == [3, 4]
    assert second.next_page_token is None
    assert {r.headers["Authorization"] for r in fake_api.requests} == {f"Bearer {job.logs_token}"}
    assert fake_api.requests[0].url.params["limit"] == "3"


async def test_job_ids_are_escaped_into_the_path(fake_api: FakeBatchApi) -> None:
    client = fake_api.client()

    with pytest.raises(JobNotFound):
        await client.get_job("../jobs?state=RUNNING", api_key=ALICE)

    assert fake_api.requests[0].url.raw_path == b"/v1/jobs/..%2Fjobs%3Fstate%3DRUNNING"


async def test_an_unreadable_answer_is_a_clear_error(fake_api: FakeBatchApi) -> None:
    client = fake_api.client()
    fake_api.fail_next(httpx.Response(200, text="<html>proxy login</html>"))

    with pytest.raises(BatchApiError, match="unexpected body"):
        await client.get_job("job-1", api_key=ALICE)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), ("-3", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None)],
)
def test_retry_after_reads_seconds_and_http_dates(header: str, seconds: float | None) -> None:
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": header})) == seconds


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Real backoff (no stamina test mode), with asyncio.sleep recording instead of waiting."""
    recorded: list[float] = []
    real_sleep = asyncio.sleep

    async def record(delay: float, *args: Any, **kwargs: Any) -> None:
        recorded.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", record)
    with stamina.set_testing(False):
        yield recorded


async def test_retry_after_is_honored_up_to_its_cap(sleeps: list[float]) -> None:
    fake_api = FakeBatchApi()
    client = fake_api.client(retry_after_cap_seconds=30, call_budget_seconds=120)
    job = fake_api.add_job()
    fake_api.fail_next(unavailable("7"), unavailable("3600"))

    await client.get_job(job.id, api_key=ALICE)

    assert sleeps == [7.0, 30.0]


async def test_a_retry_after_past_the_call_budget_ends_the_call_at_once(sleeps: list[float]) -> None:
    fake_api = FakeBatchApi()
    client = fake_api.client(call_budget_seconds=3)
    job = fake_api.add_job()
    fake_api.fail_next(unavailable("7"))

    with pytest.raises(BatchServiceUnavailable) as raised:
        await client.get_job(job.id, api_key=ALICE)

    assert sleeps == []  # no sleeping into the deadline
    assert len(fake_api.requests) == 1
    assert str(raised.value) == (
        f"batch API at http://batch.test asked to retry GET /v1/jobs/{job.id} in 7 s, past this call's "
        "3 s budget: 503 Service Unavailable: injected fault"
    )


async def test_without_retry_after_backoff_is_exponential_with_jitter(sleeps: list[float]) -> None:
    fake_api = FakeBatchApi()
    client = fake_api.client()
    job = fake_api.add_job()
    fake_api.fail_next(*(unavailable(None) for _ in range(4)))

    await client.get_job(job.id, api_key=ALICE)

    # stamina: wait_initial 0.2 s doubling per attempt, plus up to 0.5 s of jitter.
    assert len(sleeps) == 4
    for attempt, delay in enumerate(sleeps):
        assert 0.2 * 2**attempt <= delay <= 0.2 * 2**attempt + 0.5


class _JobHandler(BaseHTTPRequestHandler):
    """Answers every GET with one job over keep-alive HTTP/1.1, noting each TCP connection."""

    protocol_version = "HTTP/1.1"
    connections: set[tuple[str, int]]

    def do_GET(self) -> None:
        self.connections.add(self.client_address)
        body = json.dumps(
            {
                "id": "job-1",
                "name": "n",
                "state": "RUNNING",
                "spec": {"timeout_seconds": 5},
                "created_at": "2030-01-01T00:00:00Z",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def keep_alive_server() -> Iterator[tuple[str, set[tuple[str, int]]]]:
    connections: set[tuple[str, int]] = set()
    handler = type("Handler", (_JobHandler,), {"connections": connections})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", connections
    finally:
        server.shutdown()
        server.server_close()


def test_one_pooled_client_per_event_loop(keep_alive_server: tuple[str, set[tuple[str, int]]]) -> None:
    """flyte.run and c0 call from different loops: a connection pooled on one must not leak to another."""
    url, connections = keep_alive_server
    client = BatchApiClient(ConnectorSettings(api_url=url))

    async def three_calls() -> None:
        for _ in range(3):
            assert (await client.get_job("job-1", api_key=ALICE)).state == "RUNNING"

    asyncio.run(three_calls())
    asyncio.run(three_calls())  # the first loop is closed now; its pooled connection is unusable
    with ThreadPoolExecutor(max_workers=2) as threads:  # two loops at once, one per thread
        for done in [threads.submit(asyncio.run, three_calls()) for _ in range(2)]:
            done.result()

    # Each loop made its three calls over one kept-alive connection: four loops, four connections.
    assert len(connections) == 4
