"""A throwaway PostgreSQL database on a server someone else runs (tests, benchmarks).

It fails loudly when the server is not there: a caller that needs PostgreSQL must never
pass quietly without it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fresh_postgres_database(admin_url: str, *, prefix: str, needed_by: str) -> Iterator[str]:
    """Create `<prefix>_<random>` on `admin_url`'s server, yield its SQLAlchemy URL, drop it
    afterwards. `needed_by` names who needs it, for the error when the server is absent."""
    import psycopg  # the `postgres` extra; only callers that want PostgreSQL get here

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise RuntimeError(f"{needed_by} need PostgreSQL at {admin_url}, not reachable: {error}") from error
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
