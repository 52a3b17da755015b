"""A throwaway PostgreSQL database for a benchmark, on the server the machine provides.

Where: `BATCH_BENCH_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`, the
same server the tests use). The database is created empty and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

ADMIN_URL = os.environ.get("BATCH_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_database() -> Iterator[str]:
    """`bench_<random>` on the admin URL's server; yields its SQLAlchemy URL."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        message = f"this benchmark needs PostgreSQL at {ADMIN_URL} (BATCH_BENCH_POSTGRES_URL): {error}"
        raise RuntimeError(message) from error
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
