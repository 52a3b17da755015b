"""Regenerate the dashboard screenshots in docs/ from a real service and Chromium.

    .venv/bin/python docs/make_screenshots.py

Starts `batch-service` on a free port with a throwaway SQLite file, submits a few demo
jobs as alice, and photographs the jobs table and one running job's page.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect, sync_playwright

from batch_testkit.browser import chromium, sign_in
from batch_testkit.keys import ALICE, ALICE_KEY
from batch_testkit.servers import run_batch_service

ROOT = Path(__file__).resolve().parent.parent

DEMO_JOBS: list[dict[str, Any]] = [
    {"name": "ingest-clickstream", "duration_seconds": 1, "log_lines": 10, "labels": {"team": "data"}},
    {"name": "nightly-report", "duration_seconds": 2, "log_lines": 8},
    {"name": "resize-thumbnails", "duration_seconds": 1, "log_lines": 5, "fail_message": "out of disk"},
    {"name": "backfill-2023", "duration_seconds": 30, "timeout_seconds": 1, "log_lines": 30},
    {"name": "export-invoices", "duration_seconds": 600, "log_lines": 10},  # cancelled below
    {"name": "score-leads", "duration_seconds": 2, "log_lines": 6, "outputs": {"scored": 1840}},
    {
        "name": "train-recommender",
        "duration_seconds": 120,
        "log_lines": 240,
        "inputs": {"dataset": "s3://demo/interactions.parquet", "epochs": 12, "learning_rate": 0.003},
        "labels": {"team": "ml", "env": "demo"},
    },
    {"name": "reindex-search", "duration_seconds": 300, "log_lines": 100},
    {"name": "compact-events", "duration_seconds": 300, "log_lines": 100},  # queued: capacity is 2
]


def submit_demo_jobs(client: httpx.Client) -> dict[str, str]:
    ids = {}
    for spec in DEMO_JOBS:
        response = client.post("/v1/jobs", json=spec, headers=ALICE)
        response.raise_for_status()
        ids[spec["name"]] = response.json()["id"]
        time.sleep(0.3)  # spread the created times a little, as real submissions would be
    client.post(f"/v1/jobs/{ids['export-invoices']}/cancel", headers=ALICE).raise_for_status()
    return ids


def main() -> None:
    docs = ROOT / "docs"
    with (
        tempfile.TemporaryDirectory() as workdir,
        run_batch_service(Path(workdir), env={"BATCH_MAX_RUNNING": "2"}) as service,
        httpx.Client(base_url=service.url, timeout=10.0) as client,
        sync_playwright() as playwright,
        chromium(playwright) as browser,
    ):
        ids = submit_demo_jobs(client)
        time.sleep(3)  # let the short jobs finish so every state shows
        page = browser.new_page(viewport={"width": 1280, "height": 760}, device_scale_factor=1)
        sign_in(page, service.url, ALICE_KEY)
        expect(page.locator("#jobs-body tr")).to_have_count(len(DEMO_JOBS))
        expect(page.locator("#jobs-body .badge", has_text="QUEUED")).to_have_count(1)
        page.screenshot(path=docs / "dashboard-jobs.png", full_page=True)

        page.goto(f"{service.url}/ui/jobs/{ids['train-recommender']}")
        expect(page.locator('#logs .log-line[data-seq="24"]')).to_be_visible(timeout=30_000)
        page.set_viewport_size({"width": 1280, "height": 1000})
        page.screenshot(path=docs / "dashboard-job.png", full_page=True)
    print(f"wrote {docs / 'dashboard-jobs.png'} and {docs / 'dashboard-job.png'}")


if __name__ == "__main__":
    main()
