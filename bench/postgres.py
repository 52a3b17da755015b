"""A throwaway PostgreSQL database for a benchmark, on the server the machine provides.

Where: `BATCH_BENCH_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`, the
same server the tests use). The database is created empty and dropped afterwards.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager

from batch_testkit.postgres import fresh_postgres_database

ADMIN_URL = os.environ.get("BATCH_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def fresh_database() -> AbstractContextManager[str]:
    """`bench_<random>` on the admin URL's server; yields its SQLAlchemy URL."""
    return fresh_postgres_database(
        ADMIN_URL, prefix="bench", needed_by="benchmarks (BATCH_BENCH_POSTGRES_URL)"
    )
