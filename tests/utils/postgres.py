"""A fresh PostgreSQL database per test run, on the server the project's machines provide.

There is no skip here on purpose: without PostgreSQL these tests must fail loudly.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager

from batch_testkit.postgres import fresh_postgres_database as fresh_database

ADMIN_URL = os.environ.get("BATCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def fresh_postgres_database() -> AbstractContextManager[str]:
    """`batch_test_<random>` on BATCH_TEST_POSTGRES_URL's server, dropped afterwards."""
    return fresh_database(ADMIN_URL, prefix="batch_test", needed_by="these tests (BATCH_TEST_POSTGRES_URL)")
