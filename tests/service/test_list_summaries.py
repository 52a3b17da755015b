"""`GET /v1/jobs` lists summaries within a bounded body, and a real process's memory stays
flat while several clients list jobs that carry large inputs and outputs."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx

from batch_service.limits import MAX_LIST_BYTES
from batch_service.models import TERMINAL_STATES
from batch_service.spec_limits import MAX_JSON_BYTES
from batch_testkit.keys import ALICE
from batch_testkit.servers import BatchService, run_batch_service

BIG = MAX_JSON_BYTES - 64  # inputs and outputs as large as a job may carry (256 KiB each)
SUMMARY_FIELDS = {
    "id",
    "name",
    "state",
    "labels",
    "created_at",
    "started_at",
    "finished_at",
    "log_line_count",
}


def _rss_mib(service: BatchService) -> float:
    status = Path(f"/proc/{service.server.process.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def _all_pages(client: httpx.Client, **params: object) -> list[httpx.Response]:
    pages = [client.get("/v1/jobs", params=params)]
    while token := pages[-1].json()["next_page_token"]:
        pages.append(client.get("/v1/jobs", params={**params, "page_token": token}))
    return pages


async def _list_at_once(url: str, readers: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, headers=ALICE, timeout=120) as client:
        return await asyncio.gather(*(client.get("/v1/jobs", params={"limit": 100}) for _ in range(readers)))


def test_three_concurrent_lists_of_big_jobs_keep_memory_flat(tmp_path: Path) -> None:
    with (
        run_batch_service(tmp_path) as service,
        httpx.Client(base_url=service.url, headers=ALICE, timeout=120) as client,
    ):
        spec = {"name": "big", "duration_seconds": 0, "log_lines": 0, "inputs": {"x": "i" * BIG}}
        ids = []
        for _ in range(100):
            response = client.post("/v1/jobs", json={**spec, "outputs": {"y": "o" * BIG}})
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        while {
            job["state"] for job in client.get("/v1/jobs", params={"limit": 100}).json()["jobs"]
        } - TERMINAL_STATES:
            time.sleep(0.1)
        asyncio.run(_list_at_once(service.url, 1))  # warm up
        before = _rss_mib(service)
        responses = asyncio.run(_list_at_once(service.url, 3))
        after = _rss_mib(service)
        full = client.get(f"/v1/jobs/{ids[0]}").json()

    print(f"RSS {before:.0f} MiB before three concurrent lists of 100 big jobs, {after:.0f} MiB after;")
    print(f"list bodies {[len(r.content) for r in responses]} bytes")
    for response in responses:
        assert response.status_code == 200
        assert len(response.content) <= MAX_LIST_BYTES
        assert [job["id"] for job in response.json()["jobs"]] == ids[::-1]
        assert {frozenset(job) for job in response.json()["jobs"]} == {frozenset(SUMMARY_FIELDS)}
    assert after - before < 50  # full-document lists took 100 MiB to 1 GiB at 512 KiB a job
    assert full["inputs"] == {"x": "i" * BIG}
    assert full["outputs"] == {"y": "o" * BIG}


def test_a_page_stops_at_its_byte_bound_and_paging_loses_nothing(batch_server: BatchService) -> None:
    labels = {f"k{n:02}": chr(0x2603) * 255 for n in range(32)}  # the most a job may carry in labels
    with httpx.Client(base_url=batch_server.url, headers=ALICE, timeout=60) as client:
        ids = [
            client.post("/v1/jobs", json={"name": f"j{n}", "duration_seconds": 600, "labels": labels}).json()[
                "id"
            ]
            for n in range(150)
        ]
        pages = _all_pages(client, limit=500)

    assert len(pages) > 1
    assert all(len(page.content) <= MAX_LIST_BYTES for page in pages)
    assert len(pages[0].json()["jobs"]) < 150
    assert [job["id"] for page in pages for job in page.json()["jobs"]] == ids[::-1]
    assert pages[0].json()["jobs"][0]["labels"] == labels
