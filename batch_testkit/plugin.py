"""The pytest plugin (entry point `pytest11: batch_testkit`): a real batch service per session.

    def test_my_connector_survives_a_lost_machine(batch):
        job = batch.submit(scenario=by_polls(1, 2, outcome="TRANSIENT_FAILURE"))
        ...

Fixtures:

* `batch_service_env` (session): extra `BATCH_*` settings for the service; override it in a
  `conftest.py` to change them (e.g. `{"BATCH_RATE_LIMIT": "5"}`).
* `batch_service_server` (session): `batch-service` on a free 127.0.0.1 port with a fresh
  SQLite file, in test mode, with the owners `alice` and `bob` and an admin key
  (`batch_testkit.keys`); stopped at the end of the session.
* `batch` (each test): a `BatchTestClient` bound to it, after a reset (no jobs, no rules, an
  empty journal, the clock at wall time), so tests cannot see each other.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from batch_testkit.client import BatchTestClient
from batch_testkit.servers import BatchService, run_batch_service


@pytest.fixture(scope="session")
def batch_service_env() -> dict[str, str]:
    """Extra settings for the session's service; empty by default."""
    return {}


@pytest.fixture(scope="session")
def batch_service_server(
    tmp_path_factory: pytest.TempPathFactory, batch_service_env: dict[str, str]
) -> Iterator[BatchService]:
    with run_batch_service(
        tmp_path_factory.mktemp("batch-service"), test_mode=True, env=batch_service_env
    ) as service:
        yield service


@pytest.fixture
def batch(batch_service_server: BatchService) -> Iterator[BatchTestClient]:
    with BatchTestClient(batch_service_server.url) as client:
        client.reset()
        yield client
