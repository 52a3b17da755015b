"""One job's page in a real Chromium against a real `batch-service` process: its facts,
outputs or error, its log followed live over SSE (read with fetch), and the cancel button."""

from __future__ import annotations

import json

from playwright.sync_api import Page, Request, Route, expect

from batch_testkit.browser import sign_in
from batch_testkit.servers import BatchService
from tests.dashboard.conftest import Owner


def open_job(page: Page, service: BatchService, owner: Owner, job_id: str) -> None:
    sign_in(page, service.url, owner.key, path=f"/ui/jobs/{job_id}")


def test_job_page_shows_spec_outputs_and_the_whole_log_followed_to_the_end(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    job = owner.submit(
        name="etl-orders",
        duration_seconds=1,
        log_lines=5,
        inputs={"rows": 3},
        outputs={"rows_written": 3},
        labels={"team": "data"},
    )

    open_job(page, dashboard_service, owner, job["id"])

    expect(page.locator("#log-status")).to_have_text("Ended SUCCEEDED · 5 lines")
    expect(page.locator("#job-state")).to_have_text("SUCCEEDED")
    lines = page.locator("#logs .log-line")
    expect(lines).to_have_count(5)
    assert [int(seq) for seq in lines.locator(".log-seq").all_text_contents()] == [0, 1, 2, 3, 4]
    expect(lines.nth(4).locator(".log-message")).to_have_text("etl-orders: step 5 of 5 done")
    assert json.loads(page.locator("#job-outputs").text_content() or "") == {"rows_written": 3}
    assert json.loads(page.locator("#job-spec").text_content() or "")["inputs"] == {"rows": 3}
    expect(page.locator("#job-labels")).to_have_text("team: data")
    expect(page.locator("#error-section")).to_be_hidden()
    expect(page.get_by_role("button", name="Cancel job")).to_be_hidden()


def test_failed_job_page_shows_its_error_instead_of_outputs(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    job = owner.submit(name="broken-import", duration_seconds=0, log_lines=3, fail_message="disk full")
    owner.wait_for_state(job["id"])

    open_job(page, dashboard_service, owner, job["id"])

    expect(page.locator("#job-state")).to_have_text("FAILED")
    expect(page.locator("#error-section")).to_be_visible()
    expect(page.locator("#job-failure")).to_have_text("disk full")
    expect(page.locator("#job-outputs")).to_have_text("No outputs: the job ended FAILED.")
    expect(page.locator("#logs .log-line").last).to_have_class("log-line level-error")


def test_job_page_streams_log_lines_while_running_and_cancel_ends_the_job(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    job = owner.submit(name="long-train", duration_seconds=60, log_lines=120)

    open_job(page, dashboard_service, owner, job["id"])

    expect(page.locator("#job-state")).to_have_text("RUNNING")
    expect(page.locator('#logs .log-line[data-seq="2"]')).to_contain_text("long-train: step 3 of 120 done")
    expect(page.locator("#log-status")).to_have_text("Following live")
    assert owner.job(job["id"])["state"] == "RUNNING", "lines must arrive while the job runs"

    page.get_by_role("button", name="Cancel job").click()

    expect(page.locator("#job-state")).to_have_text("CANCELLED")
    expect(page.locator("#log-status")).to_contain_text("Ended CANCELLED")
    expect(page.get_by_role("button", name="Cancel job")).to_be_hidden()
    assert owner.job(job["id"])["state"] == "CANCELLED"


def test_log_follow_resumes_after_a_dropped_stream_without_repeating_lines(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    job = owner.submit(name="flaky-network", duration_seconds=0, log_lines=6)
    owner.wait_for_state(job["id"])
    logs = owner.client.get(f"/v1/jobs/{job['id']}/logs", params={"limit": 2}, headers=owner.headers)
    first_two = "".join(
        f"id: {line['seq']}\nevent: line\ndata: {json.dumps(line)}\n\n" for line in logs.json()["lines"]
    )
    follows: list[Request] = []

    def drop_the_first_stream(route: Route) -> None:
        """The first connection delivers lines 0 and 1, then closes without an `end` event."""
        follows.append(route.request)
        if len(follows) == 1:
            route.fulfill(status=200, content_type="text/event-stream", body=first_two)
        else:
            route.continue_()

    page.route("**/v1/jobs/*/logs?follow=true", drop_the_first_stream)
    open_job(page, dashboard_service, owner, job["id"])

    expect(page.locator("#log-status")).to_have_text("Ended SUCCEEDED · 6 lines")
    seqs = page.locator("#logs .log-seq").all_text_contents()
    assert [int(seq) for seq in seqs] == list(range(6))
    assert len(follows) == 2
    assert follows[1].header_value("last-event-id") == "1"


def test_job_page_recovers_when_its_first_fetch_fails(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    job = owner.submit(name="unlucky-start", duration_seconds=0, log_lines=3)
    owner.wait_for_state(job["id"])
    refused: list[str] = []

    def fail_once(route: Route) -> None:
        if refused:
            route.continue_()
            return
        refused.append(route.request.url)
        route.fulfill(status=503, json={"detail": "injected fault"}, headers={"Retry-After": "1"})

    page.route(f"**/v1/jobs/{job['id']}", fail_once)
    open_job(page, dashboard_service, owner, job["id"])

    expect(page.locator("#log-status")).to_have_text("Ended SUCCEEDED · 3 lines")
    expect(page.locator("#job-state")).to_have_text("SUCCEEDED")
    expect(page.locator("#job-error")).to_be_hidden()
    assert refused == [f"{dashboard_service.url}/v1/jobs/{job['id']}"]


SSE_STREAM = (
    ": keep-alive\r\n\r\n"
    'id: 0\r\nevent: line\r\ndata: {"seq": 0}\r\n\r\n'
    "event: end\rdata: first\rdata:second\r\r"
)
SPLIT_EVERYWHERE = """async (stream) => {
  const { SseParser } = await import("/ui/static/sse.js");
  const runs = [];
  for (let cut = 0; cut <= stream.length; cut++) {
    const events = [];
    const parser = new SseParser((event) => events.push(event));
    parser.push(stream.slice(0, cut));
    parser.push(stream.slice(cut));
    runs.push(events);
  }
  return runs;
}"""
SPLIT_INSIDE_A_CHARACTER = """async () => {
  const { readEvents } = await import("/ui/static/sse.js");
  const bytes = new TextEncoder().encode("data: naïve ✓\\n\\n");
  const runs = [];
  for (let cut = 0; cut <= bytes.length; cut++) {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(bytes.slice(0, cut));
        controller.enqueue(bytes.slice(cut));
        controller.close();
      },
    });
    const events = [];
    await readEvents(new Response(body), (event) => events.push(event.data));
    runs.push(events);
  }
  return runs;
}"""


def test_sse_parser_reads_the_same_events_however_the_stream_is_chunked(
    page: Page, dashboard_service: BatchService
) -> None:
    page.goto(f"{dashboard_service.url}/ui")

    runs = page.evaluate(SPLIT_EVERYWHERE, SSE_STREAM)
    expected = [
        {"type": "line", "data": '{"seq": 0}', "id": "0"},
        {"type": "end", "data": "first\nsecond", "id": "0"},
    ]
    assert runs == [expected] * (len(SSE_STREAM) + 1)

    decoded = page.evaluate(SPLIT_INSIDE_A_CHARACTER)
    assert decoded == [["naïve ✓"]] * (len("data: naïve ✓\n\n".encode()) + 1)
