"""A task's log link, taken from a real GetTask over `c0`, opens the job's read-only page in Chromium.

`c0` runs with `BATCH_PUBLIC_URL` set to the service: the link is the dashboard's page of the
job with the job's logs token in the URL fragment. Opened in a browser that never signed in,
it shows the job's log and resource use, offers nothing that needs the owner's key, and the
token never reaches the service's access log (browsers do not send fragments).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from flyteidl2.connector.connector_pb2 import Resource
from playwright.sync_api import Page, expect

from batch_testkit.drive import ConnectorDriver, job_id_of
from batch_testkit.keys import ALICE_KEY
from batch_testkit.servers import BatchService, ConnectorServer, run_connector_server
from tests.connector.conftest import submit


@pytest.fixture(scope="module")
def connector(
    dashboard_service: BatchService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConnectorServer]:
    with run_connector_server(
        tmp_path_factory.mktemp("c0-public"),
        api_url=dashboard_service.url,
        env={"BATCH_PUBLIC_URL": dashboard_service.url},
    ) as server:
        yield server


def run_task(connector: ConnectorServer, **config: object) -> tuple[bytes, Resource]:
    """Create a task over gRPC and poll GetTask until it ends, in a thread of its own: Playwright's
    sync API holds this thread's event loop."""

    async def create_and_wait() -> tuple[bytes, Resource]:
        async with grpc.aio.insecure_channel(connector.address) as channel:
            alice = ConnectorDriver(channel, api_key=ALICE_KEY)
            meta = await submit(alice, "linked", **config)
            return meta, await alice.wait(meta, poll_interval=0.2)

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, create_and_wait()).result(timeout=120)


def test_the_log_link_opens_the_jobs_page_read_only_with_its_log(
    page: Page, dashboard_service: BatchService, connector: ConnectorServer
) -> None:
    meta, resource = run_task(connector, duration_seconds=1, log_lines=5)
    job_id, token = job_id_of(meta), json.loads(meta)["logs_token"]
    (link,) = resource.log_links

    page.goto(link.uri)

    assert link.uri == f"{dashboard_service.url}/ui/jobs/{job_id}#logs_token={token}"
    expect(page.locator("#log-status")).to_have_text("Ended SUCCEEDED · 5 lines")
    expect(page.locator("#logs .log-line")).to_have_count(5)
    expect(page.locator("#logs .log-line").nth(4).locator(".log-message")).to_have_text(
        "drive_batch_job: step 5 of 5 done"
    )
    expect(page.locator("#job-state")).to_have_text("SUCCEEDED")
    expect(page.locator("#usage-status")).to_contain_text("Complete")
    expect(page.locator("#read-only-note")).to_be_visible()
    for needs_the_key in ("#sign-in", "#session", "#cancel", "#outputs-section", "#spec-section"):
        expect(page.locator(needs_the_key)).to_be_hidden()
    service_log = dashboard_service.server.log()
    assert f"GET /ui/jobs/{job_id} HTTP/1.1" in service_log  # the access log saw the page...
    assert token not in service_log  # ...and never the token


def test_a_link_whose_token_is_for_another_job_says_so(
    page: Page, dashboard_service: BatchService, connector: ConnectorServer
) -> None:
    meta, _ = run_task(connector, duration_seconds=0, log_lines=1)
    other, _ = run_task(connector, duration_seconds=0, log_lines=1)

    page.goto(
        f"{dashboard_service.url}/ui/jobs/{job_id_of(meta)}#logs_token={json.loads(other)['logs_token']}"
    )

    expect(page.locator("#job-error")).to_have_text(
        "This link's token does not open this job (it is for another job)."
    )
    expect(page.locator("#logs .log-line")).to_have_count(0)
