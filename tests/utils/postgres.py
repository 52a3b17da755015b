"""A fresh PostgreSQL database per test run, on the server the project's machines provide.

There is no skip here on purpose: without PostgreSQL these tests must fail loudly.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

ADMIN_URL = os.environ.get("BATCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create `batch_test_<random>`, yield its SQLAlchemy URL, drop it afterwards."""
    name = f"batch_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise RuntimeError(
            f"PostgreSQL is required for these tests and is not reachable at {ADMIN_URL}: {error}"
        ) from error
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
