"""The admin page and a job's scenario in a real Chromium, against the test kit's service
(test mode, an admin key): rules with their hit counts, the journal, and the scenario."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from batch_testkit import BatchService, BatchTestClient, by_polls, failing, scenario
from batch_testkit.browser import sign_in
from batch_testkit.jobs import job_spec
from batch_testkit.keys import ADMIN_KEY, ALICE, ALICE_KEY


def open_admin(page: Page, service: BatchService, key: str = ADMIN_KEY) -> None:
    page.goto(f"{service.url}/ui/admin")
    page.get_by_label("Admin key").fill(key)
    page.get_by_role("button", name="Continue").click()


def test_the_admin_page_lists_rules_with_their_hits_and_the_journal(
    page: Page, batch_service_server: BatchService, batch: BatchTestClient
) -> None:
    rule = batch.add_rule("POST", "/v1/jobs", status=429, retry_after_seconds=1, count=2)
    statuses = [batch.http.post("/v1/jobs", json=job_spec(), headers=ALICE).status_code for _ in range(3)]
    assert statuses == [429, 429, 201]

    open_admin(page, batch_service_server)

    row = page.locator(f'#rules-body tr[data-rule="{rule["id"]}"]')
    expect(row).to_contain_text("/v1/jobs")
    expect(row).to_contain_text("429 (Retry-After 1)")
    expect(row.locator(".hits")).to_have_text("2 of 2")
    calls = page.locator("#journal-body tr")
    expect(calls).to_have_count(3)
    assert calls.locator(".status").all_text_contents() == ["201", "429", "429"]  # newest first
    expect(calls.nth(2).locator(".fault")).to_have_text(f"{rule['id']}: 429 (Retry-After 1)")
    expect(calls.nth(0)).to_contain_text("alice")
    assert ADMIN_KEY not in page.content()


def test_clearing_the_rules_from_the_page(
    page: Page, batch_service_server: BatchService, batch: BatchTestClient
) -> None:
    batch.add_rule("GET", "/healthz", status=503)
    open_admin(page, batch_service_server)
    expect(page.locator("#rules-body tr")).to_have_count(1)

    page.get_by_role("button", name="Clear rules").click()

    expect(page.locator("#rules-empty")).to_be_visible()
    assert batch.rules() == []


def test_an_owner_key_does_not_open_the_admin_page(page: Page, batch_service_server: BatchService) -> None:
    open_admin(page, batch_service_server, key=ALICE_KEY)

    expect(page.locator("#sign-in-error")).to_have_text("The service does not accept this key.")
    expect(page.locator("#content")).to_be_hidden()


def test_a_jobs_page_shows_its_scenario(
    page: Page, batch_service_server: BatchService, batch: BatchTestClient
) -> None:
    lost = scenario(
        queued_seconds=600,
        outcome="TRANSIENT_FAILURE",
        message="spot VM preempted",
        faults={"logs": failing(from_call=2, status=500), "cancel": failing(delay_seconds=30, drop=True)},
    )
    job = batch.submit(duration_seconds=5, scenario=lost)
    plain = batch.submit()

    sign_in(page, batch_service_server.url, ALICE_KEY, path=f"/ui/jobs/{job['id']}")

    expect(page.locator("#job-scenario li")).to_have_text(
        [
            "Stays QUEUED at least 600 s",
            "Ends TRANSIENT_FAILURE: spot VM preempted",
            "Fault on logs call 2: 500",
            "Fault on cancel call 1: delay 30 s, then drop the connection",
        ]
    )
    page.goto(f"{batch_service_server.url}/ui/jobs/{plain['id']}")
    expect(page.locator("#job-state")).to_have_text("SUCCEEDED")
    expect(page.locator("#scenario-section")).to_be_hidden()


def test_a_poll_driven_job_shows_when_it_moves(
    page: Page, batch_service_server: BatchService, batch: BatchTestClient
) -> None:
    job = batch.submit(scenario=by_polls(running_after=2, finished_after=1000))

    sign_in(page, batch_service_server.url, ALICE_KEY, path=f"/ui/jobs/{job['id']}")

    expect(page.locator("#job-scenario li")).to_have_text(
        ["Starts after 2 answered GETs", "Ends after 1000 answered GETs"]
    )
