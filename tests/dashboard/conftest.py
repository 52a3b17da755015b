"""Fixtures for the dashboard: one real service for the folder, one Chromium per module, and
a fresh browser context (empty sessionStorage) and a fresh job owner for every test."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from batch_service.models import TERMINAL_STATES
from batch_testkit.browser import chromium
from batch_testkit.jobs import job_spec, wait_for_state
from batch_testkit.keys import ALICE_KEY, BOB_KEY, DEFAULT_KEYS, bearer
from batch_testkit.servers import BatchService, run_batch_service

POOL_SIZE = 30  # owners for browser tests: each test gets one nobody else has used
OWNER_KEYS = ",".join(f"owner{n}:owner{n}-secret-key" for n in range(POOL_SIZE))
_owner_numbers = itertools.count()

expect.set_options(timeout=10_000)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the pages read nothing from the database, so PostgreSQL would prove no more."""
    return f"sqlite:///{tmp_path / 'batch.db'}"


@dataclass
class Owner:
    """An API key's holder, submitting and inspecting jobs over HTTP as a client would."""

    name: str
    key: str
    client: httpx.Client

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)

    def submit(self, **spec: Any) -> dict[str, Any]:
        response = self.client.post("/v1/jobs", json=job_spec(**spec), headers=self.headers)
        assert response.status_code == 201, response.text
        return response.json()

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.client.get(f"/v1/jobs/{job_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for_state(self, job_id: str, states: Collection[str] = TERMINAL_STATES) -> dict[str, Any]:
        """The suite's one `wait_for_state`, on an event loop of its own in a worker thread:
        while Playwright's sync API runs, the loop of this thread is Playwright's."""

        async def wait() -> dict[str, Any]:
            async with httpx.AsyncClient(base_url=self.client.base_url, timeout=10.0) as client:
                return await wait_for_state(client, job_id, states, headers=self.headers)

        with ThreadPoolExecutor(1) as worker:
            return worker.submit(asyncio.run, wait()).result()


@pytest.fixture(scope="package")
def dashboard_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BatchService]:
    """Capacity to spare, so the long jobs some tests leave running never queue another's."""
    with run_batch_service(
        tmp_path_factory.mktemp("dashboard"),
        api_keys=f"{DEFAULT_KEYS},{OWNER_KEYS}",
        env={"BATCH_MAX_RUNNING": "1000"},
    ) as service:
        yield service


@pytest.fixture(scope="package")
def api_client(dashboard_service: BatchService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dashboard_service.url, timeout=10.0) as client:
        yield client


@pytest.fixture
def owner(api_client: httpx.Client) -> Owner:
    number = next(_owner_numbers)
    assert number < POOL_SIZE, "raise POOL_SIZE: more browser tests than owners"
    return Owner(name=f"owner{number}", key=f"owner{number}-secret-key", client=api_client)


@pytest.fixture
def alice(api_client: httpx.Client) -> Owner:
    return Owner(name="alice", key=ALICE_KEY, client=api_client)


@pytest.fixture
def bob(api_client: httpx.Client) -> Owner:
    return Owner(name="bob", key=BOB_KEY, client=api_client)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module, not per package: while Playwright's sync API is started it runs an event
    loop in this thread, and async tests (pytest-asyncio) cannot start theirs."""
    with sync_playwright() as playwright, chromium(playwright) as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in its own context (its own sessionStorage, localStorage and cookies) whose
    scripts must not throw: an uncaught error fails the test even if the page looked fine."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
    finally:
        context.close()
    assert errors == [], f"uncaught script errors: {errors}"
