"""Malformed ids, filters, page tokens and Last-Event-IDs get a JSON 4xx from a real process,
on SQLite and on PostgreSQL, and never a 500 or a broken stream."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from urllib.parse import urlsplit

import httpx
import pytest

from batch_testkit.keys import ALICE, ALICE_KEY
from batch_testkit.servers import BatchService, run_batch_service
from tests.utils.postgres import fresh_postgres_database


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BatchService]:
    """One real process per database for the whole module: every test here only reads or
    adds its own jobs."""
    workdir = tmp_path_factory.mktemp(request.param)
    with ExitStack() as stack:
        url = None if request.param == "sqlite" else stack.enter_context(fresh_postgres_database())
        yield stack.enter_context(run_batch_service(workdir, database_url=url))


@pytest.fixture
def client(service: BatchService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, headers=ALICE, timeout=30) as client:
        yield client


def submit(client: httpx.Client, **spec: object) -> dict:
    response = client.post("/v1/jobs", json={"name": "h", "duration_seconds": 0, "log_lines": 3, **spec})
    assert response.status_code == 201, response.text
    return response.json()


def token(kind: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def assert_json_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"]


def raw_get(url: str, path: str, headers: dict[bytes, bytes]) -> tuple[int, bytes, bytes]:
    """GET with header bytes as given (httpx refuses non-ASCII header values); the status,
    the head and what of the body arrived before the server closed or 2 s passed."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        lines = [f"GET {path} HTTP/1.1".encode(), f"Host: {address.netloc}".encode()]
        lines += [name + b": " + value for name, value in headers.items()]
        sock.sendall(b"\r\n".join([*lines, b"Connection: close", b"", b""]))
        received = b""
        sock.settimeout(2)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def test_a_non_ascii_last_event_id_is_a_json_400(service: BatchService, client: httpx.Client) -> None:
    job = submit(client)
    status, head, body = raw_get(
        service.url,
        f"/v1/jobs/{job['id']}/logs?follow=true",
        {b"Authorization": f"Bearer {ALICE_KEY}".encode(), b"Last-Event-ID": b"\xb2"},
    )
    assert status == 400
    assert b"content-type: application/json" in head.lower()
    assert b"Last-Event-ID" in body


@pytest.mark.parametrize("last_event_id", ["99999999999999999999", "2147483647", "-1", "1e3"])
def test_an_impossible_last_event_id_is_a_json_400(client: httpx.Client, last_event_id: str) -> None:
    job = submit(client)
    response = client.get(
        f"/v1/jobs/{job['id']}/logs", params={"follow": "true"}, headers={"Last-Event-ID": last_event_id}
    )
    assert_json_error(response, 400)
    assert "Last-Event-ID" in response.json()["detail"]


def test_the_largest_possible_last_event_id_still_streams_to_the_end(client: httpx.Client) -> None:
    job = submit(client)
    with client.stream(
        "GET",
        f"/v1/jobs/{job['id']}/logs",
        params={"follow": "true"},
        headers={"Last-Event-ID": "2147483646"},
    ) as stream:
        assert stream.status_code == 200
        events = stream.read().decode()
    assert "event: end" in events
    assert "event: line" not in events


@pytest.mark.parametrize("position", [2**31, 2**62])
def test_a_logs_page_token_past_the_seq_column_is_a_json_400(client: httpx.Client, position: int) -> None:
    job = submit(client)
    response = client.get(f"/v1/jobs/{job['id']}/logs", params={"page_token": token("logs", position)})
    assert_json_error(response, 400)
    assert "page_token" in response.json()["detail"]


def test_the_last_valid_logs_page_token_is_an_empty_page(client: httpx.Client) -> None:
    job = submit(client)
    response = client.get(f"/v1/jobs/{job['id']}/logs", params={"page_token": token("logs", 2**31 - 1)})
    assert response.status_code == 200, response.text
    assert response.json()["lines"] == []


@pytest.mark.parametrize("label", ["team:da\x00ta", "te\x00am:data"])
def test_a_nul_in_a_label_filter_is_a_json_422(client: httpx.Client, label: str) -> None:
    submit(client, labels={"team": "data"})
    assert_json_error(client.get("/v1/jobs", params={"label": label}), 422)


def test_a_label_filter_may_match_a_value_with_a_newline(client: httpx.Client) -> None:
    job = submit(client, labels={"note": "two\nlines"})
    listed = client.get("/v1/jobs", params={"label": "note:two\nlines"})
    assert listed.status_code == 200, listed.text
    assert [found["id"] for found in listed.json()["jobs"]] == [job["id"]]


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("POST", "/cancel"), ("GET", "/logs"), ("GET", "/logs?follow=true")]
)
def test_a_nul_in_a_job_id_is_a_json_404(client: httpx.Client, method: str, suffix: str) -> None:
    submit(client)
    assert_json_error(client.request(method, f"/v1/jobs/job-%00abc{suffix}"), 404)
