"""The job page plots the job's CPU and memory over its run, in a real Chromium against a real service."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from batch_testkit.browser import sign_in
from batch_testkit.servers import BatchService
from tests.dashboard.conftest import Owner


def chart_points(page: Page, chart: str) -> list[tuple[float, float]]:
    raw = page.locator(f"#{chart} polyline.chart-line").get_attribute("points") or ""
    return [(float(x), float(y)) for x, y in (point.split(",") for point in raw.split())]


def test_a_finished_jobs_cpu_and_memory_are_drawn_one_point_a_sample(
    page: Page, dashboard_service: BatchService, owner: Owner
) -> None:
    job = owner.submit(duration_seconds=3, usage={"cpu_cores": 2.0, "memory_mib": 512, "shape": "ramp"})
    owner.wait_for_state(job["id"])

    sign_in(page, dashboard_service.url, owner.key, path=f"/ui/jobs/{job['id']}")

    expect(page.locator("#usage-status")).to_have_text("Complete · 4 samples, every 1 s")
    expect(page.locator("#memory-peak")).to_have_text("peak 512 MiB")
    expect(page.locator("#usage-empty")).to_be_hidden()
    for chart in ("cpu-chart", "memory-chart"):
        points = chart_points(page, chart)
        assert len(points) == 4
        xs, ys = [x for x, _ in points], [y for _, y in points]
        assert xs == sorted(xs) and len(set(xs)) == 4  # evenly along the run
        assert ys[-1] < ys[0]  # a ramp: the last sample is the highest (SVG y grows downwards)
