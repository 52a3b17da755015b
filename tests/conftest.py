"""Shared fixtures: an in-process app on SQLite and on PostgreSQL, and real server processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from batch_service.api import create_app
from batch_service.db import Database
from batch_service.settings import Settings
from batch_testkit.keys import DEFAULT_KEYS
from batch_testkit.servers import BatchService, run_batch_service
from tests.utils.databases import migrated
from tests.utils.postgres import fresh_postgres_database


@dataclass
class InProcessApi:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "api_keys": DEFAULT_KEYS,
        "tick_seconds": 0.02,
        **overrides,
    }
    return Settings(**values)


async def start_in_process(settings: Settings) -> tuple[FastAPI, Any]:
    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    return app, lifespan


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (fails, never skips, without a server)."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Tests that take this run twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'batch.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def api_settings(request: pytest.FixtureRequest, database_url: str) -> Settings:
    """The in-process app's settings: the tests' defaults, plus what the test itself names
    with `@pytest.mark.settings(max_running=1, ...)` (any `Settings` field)."""
    marker = request.node.get_closest_marker("settings")
    return make_settings(database_url, **(marker.kwargs if marker else {}))


@pytest.fixture
async def api(api_settings: Settings) -> AsyncIterator[InProcessApi]:
    """The app in-process with its lifespan (migrations, scheduler) running, and a client."""
    app, lifespan = await start_in_process(api_settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://batch.test") as client:
            yield InProcessApi(app=app, client=client, settings=api_settings)
    finally:
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
def batch_server(tmp_path: Path) -> Iterator[BatchService]:
    """A real `batch-service` process on a free port with its own SQLite file."""
    with run_batch_service(tmp_path) as service:
        yield service


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated service database (SQLite and PostgreSQL), for tests of the store and scheduler."""
    with migrated(Database(database_url)) as database:
        yield database
