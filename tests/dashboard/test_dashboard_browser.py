"""The jobs table and sign-in in a real Chromium against a real `batch-service` process.

Jobs are submitted through the API, as any client would, and the tests watch what a person
would see: rows, coloured badges, filters and pages, another owner's empty view, and the
API key kept in sessionStorage and the Authorization header only.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, Request, expect

from batch_testkit.browser import sign_in
from batch_testkit.servers import BatchService
from tests.dashboard.conftest import Owner


def test_jobs_table_shows_the_owners_jobs_newest_first_with_coloured_states(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    done = owner.wait_for_state(owner.submit(name="nightly-report", duration_seconds=0)["id"])
    failed = owner.wait_for_state(
        owner.submit(name="broken-import", duration_seconds=0, fail_message="x")["id"]
    )

    sign_in(page, dashboard_service.url, owner.key)

    rows = page.locator("#jobs-body tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-job-id", failed["id"])
    expect(rows.nth(0).locator(".job-link")).to_have_text("broken-import")
    expect(rows.nth(0).locator(".badge")).to_have_text("FAILED")
    expect(rows.nth(1).locator(".job-link")).to_have_text("nightly-report")
    expect(rows.nth(1).locator(".badge")).to_have_text("SUCCEEDED")
    cells = rows.nth(1).locator("td")
    for column, field in ((2, "created_at"), (3, "started_at"), (4, "finished_at")):
        expect(cells.nth(column).locator("time")).to_have_attribute("datetime", done[field])
    expect(cells.nth(5)).to_have_text(re.compile(r"^\d+\.\d s$"))
    failed_colour = rows.nth(0).locator(".badge").evaluate("e => getComputedStyle(e).color")
    succeeded_colour = rows.nth(1).locator(".badge").evaluate("e => getComputedStyle(e).color")
    assert failed_colour != succeeded_colour


def test_jobs_table_picks_up_state_changes_by_itself(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    job = owner.submit(name="long-render", duration_seconds=120, log_lines=0)
    owner.wait_for_state(job["id"], {"RUNNING"})
    sign_in(page, dashboard_service.url, owner.key)
    badge = page.locator(f'#jobs-body tr[data-job-id="{job["id"]}"] .badge')
    expect(badge).to_have_text("RUNNING")

    owner.client.post(f"/v1/jobs/{job['id']}/cancel", headers=owner.headers).raise_for_status()

    expect(badge).to_have_text("CANCELLED")


def test_state_filter_shows_only_jobs_in_that_state(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    finished = [owner.submit(name=f"ok-{n}", duration_seconds=0) for n in range(2)]
    failed = owner.submit(name="bad-1", duration_seconds=0, fail_message="boom")
    running = owner.submit(name="slow-1", duration_seconds=120, log_lines=0)
    for job in [*finished, failed]:
        owner.wait_for_state(job["id"])
    owner.wait_for_state(running["id"], {"RUNNING"})
    sign_in(page, dashboard_service.url, owner.key)
    expect(page.locator("#jobs-body tr")).to_have_count(4)

    page.locator(".filters").get_by_role("link", name="Failed").click()
    expect(page).to_have_url(f"{dashboard_service.url}/ui?state=FAILED")
    expect(page.locator("#jobs-body .job-link")).to_have_text(["bad-1"])

    page.locator(".filters").get_by_role("link", name="Running").click()
    expect(page.locator("#jobs-body .job-link")).to_have_text(["slow-1"])

    page.locator(".filters").get_by_role("link", name="Timed out").click()
    expect(page.locator("#jobs-empty")).to_have_text("No TIMED_OUT jobs.")
    expect(page.locator("#jobs-body tr")).to_have_count(0)

    page.locator(".filters").get_by_role("link", name="All").click()
    expect(page.locator("#jobs-body tr")).to_have_count(4)


def test_paging_walks_every_job_with_the_next_page_token(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    for n in range(1, 6):
        owner.submit(name=f"batch-{n}", duration_seconds=0)
    sign_in(page, dashboard_service.url, owner.key, path="/ui?limit=2")
    older = page.get_by_role("button", name="Older →")
    newer = page.get_by_role("button", name="← Newer")
    names = page.locator("#jobs-body .job-link")

    expect(names).to_have_text(["batch-5", "batch-4"])
    expect(newer).to_be_disabled()
    older.click()
    expect(names).to_have_text(["batch-3", "batch-2"])
    expect(page.locator("#page-label")).to_have_text("Page 2")
    older.click()
    expect(names).to_have_text(["batch-1"])
    expect(older).to_be_disabled()
    newer.click()
    expect(names).to_have_text(["batch-3", "batch-2"])


def test_another_owners_key_shows_none_of_alices_jobs(
    page: Page, dashboard_service: BatchService, alice: Owner, bob: Owner
) -> None:
    secret = alice.submit(name="alice-quarterly-numbers", duration_seconds=0)

    sign_in(page, dashboard_service.url, bob.key)
    expect(page.locator("#jobs-empty")).to_have_text("No jobs yet. Submit one with POST /v1/jobs.")
    expect(page.locator("#jobs-body tr")).to_have_count(0)

    page.goto(f"{dashboard_service.url}/ui/jobs/{secret['id']}")
    expect(page.locator("#job-error")).to_contain_text("Job not found")
    expect(page.locator("#job-body")).to_be_hidden()
    assert "alice-quarterly-numbers" not in page.content()


def test_api_key_lives_in_session_storage_only_and_never_in_a_url(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    job = owner.submit(name="key-hygiene", duration_seconds=60, log_lines=60)

    sign_in(page, dashboard_service.url, owner.key)
    page.get_by_role("link", name="key-hygiene").click()
    expect(page.locator('#logs .log-line[data-seq="0"]')).to_be_visible()
    page.get_by_role("button", name="Cancel job").click()
    expect(page.locator("#log-status")).to_contain_text("Ended CANCELLED")

    assert requests, "the page made no requests at all"
    assert not [r.url for r in requests if owner.key in r.url]
    assert not [r.url for r in requests if r.post_data and owner.key in r.post_data]
    api_calls = [r for r in requests if "/v1/" in r.url]
    assert {r.header_value("authorization") for r in api_calls} == {f"Bearer {owner.key}"}
    assert {r.url.split("?")[0] for r in api_calls} >= {
        f"{dashboard_service.url}/v1/jobs",
        f"{dashboard_service.url}/v1/jobs/{job['id']}",
        f"{dashboard_service.url}/v1/jobs/{job['id']}/logs",
        f"{dashboard_service.url}/v1/jobs/{job['id']}/cancel",
    }
    assert not [r.url for r in requests if "/v1/" not in r.url and r.header_value("authorization")]
    assert page.evaluate("Object.values(sessionStorage)") == [owner.key]
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    assert owner.key not in page.content()

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#sign-in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_refused_key_is_not_stored(page: Page, dashboard_service: BatchService) -> None:
    page.goto(f"{dashboard_service.url}/ui")
    page.get_by_label("API key").fill("not-a-real-key")
    page.get_by_role("button", name="Continue").click()

    expect(page.locator("#sign-in-error")).to_have_text("The service does not accept this key.")
    expect(page.locator("#content")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


def test_job_names_and_log_messages_are_shown_as_text_never_as_markup(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    name = '<img src=x onerror="window.pwned=1">'
    job = owner.submit(name=name, duration_seconds=0, log_lines=1)
    owner.wait_for_state(job["id"])

    sign_in(page, dashboard_service.url, owner.key)
    expect(page.locator("#jobs-body .job-link")).to_have_text([name])
    page.locator("#jobs-body .job-link").click()
    expect(page.locator("#job-name")).to_have_text(name)
    expect(page.locator("#logs .log-message")).to_have_text([f"{name}: step 1 of 1 done"])

    assert page.locator("main img").count() == 0
    assert page.evaluate("window.pwned") is None
