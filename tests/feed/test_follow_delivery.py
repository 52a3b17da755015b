"""How lines reach live followers: in as few writes as there are batches ready, each line
still its own event; many followers opening at once each get every line once, in order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from batch_testkit import run_batch_service
from batch_testkit.jobs import submit, wait_for_state
from batch_testkit.keys import ALICE, ALICE_KEY
from batch_testkit.servers import BatchService

FOLLOWERS_PER_JOB = 15


@pytest.fixture
def service(tmp_path: Path) -> Iterator[BatchService]:
    env = {
        "BATCH_TICK_SECONDS": "0.05",
        "BATCH_MAX_FOLLOWERS_PER_JOB": str(FOLLOWERS_PER_JOB),
        "BATCH_MAX_FOLLOWERS_PER_OWNER": str(4 * FOLLOWERS_PER_JOB),
    }
    with run_batch_service(tmp_path, env=env) as service:
        yield service


async def follow_raw(service: BatchService, job_id: str, last_event_id: int | None = None) -> list[bytes]:
    """The body of a follow exactly as written, one item per HTTP chunk the service sent."""
    host, port = service.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    resume = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id is not None else ""
    writer.write(
        f"GET /v1/jobs/{job_id}/logs?follow=true HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {ALICE_KEY}\r\n{resume}Connection: close\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"transfer-encoding: chunked" in head.lower()
    chunks: list[bytes] = []
    while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
        chunks.append((await reader.readexactly(size + 2))[:-2])
    writer.close()
    return chunks


def line_events(body: bytes) -> list[tuple[int, int]]:
    """(SSE id, the seq in its data) of each line event."""
    found = []
    for event in body.split(b"\n\n"):
        if event.startswith(b"id: "):
            fields = dict(field.split(b": ", 1) for field in event.split(b"\n"))
            assert fields[b"event"] == b"line"
            data = json.loads(fields[b"data"])
            found.append((int(fields[b"id"]), data["seq"]))
    return found


async def test_a_follower_far_behind_gets_a_page_per_write_and_every_line_its_own_id(
    service: BatchService,
) -> None:
    async with httpx.AsyncClient(base_url=service.url, headers=ALICE) as client:
        job = await submit(client, duration_seconds=0.2, log_lines=2500)
        await wait_for_state(client, job["id"])

    chunks = await follow_raw(service, job["id"], last_event_id=99)

    events = line_events(b"".join(chunks))
    assert events == [(seq, seq) for seq in range(100, 2500)]
    with_lines = [chunk for chunk in chunks if b"event: line" in chunk]
    assert len(with_lines) == 3  # 2,400 lines in pages of 1,000: three writes, not 2,400
    assert chunks[-1].startswith(b"event: end")


async def test_many_followers_opening_at_once_each_get_every_line_once_in_order(
    service: BatchService,
) -> None:
    async with httpx.AsyncClient(base_url=service.url, headers=ALICE) as client:
        jobs = [await submit(client, duration_seconds=1.5, log_lines=60) for _ in range(3)]
        followers = [job["id"] for job in jobs for _ in range(FOLLOWERS_PER_JOB)]
        bodies = await asyncio.gather(*(follow_raw(service, job_id) for job_id in followers))

    for body in bodies:
        assert line_events(b"".join(body)) == [(seq, seq) for seq in range(60)]
        assert body[-1].startswith(b"event: end")
