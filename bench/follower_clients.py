"""The followers benchmark's client side: raw-socket HTTP and SSE follows, run in client
processes so that the client stays cheap beside the service it measures (`followers.py`).

Each follower reads its socket as data comes (one read per arrival, whatever it carries),
undoes the HTTP chunking, and records every line's `seq` and arrival time.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass


@dataclass
class Followed:
    """What one follower saw: each line's seq and arrival (monotonic), in arrival order."""

    job_id: str
    sent: float
    opened: float
    seqs: list[int]
    arrivals: list[float]
    mismatched: int  # events whose data did not carry the seq of their id


async def request(port: int, method: str, path: str, key: str, body: bytes = b"") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def take_events(stream: bytearray, followed: Followed, now: float) -> bool:
    """Record the complete SSE events at the front of `stream` (de-chunked); True at `end`."""
    events = bytes(stream).split(b"\n\n")
    stream[:] = events.pop()
    for event in events:
        if event.startswith(b"id: "):
            seq = int(event[4 : event.index(b"\n")])
            if event.find(b'data: {"seq": %d,' % seq) < 0:
                followed.mismatched += 1
            followed.seqs.append(seq)
            followed.arrivals.append(now)
        elif event.startswith(b"event: end"):
            return True
    return False


async def follow(port: int, job_id: str, key: str) -> Followed:
    """Every line until the `end` event, read off the socket as it comes (HTTP chunks undone)."""
    sent = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /v1/jobs/{job_id}/logs?follow=true HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer {key}\r\nConnection: close\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") or b"transfer-encoding: chunked" not in head.lower():
        raise RuntimeError(f"follow of {job_id} answered {head!r}")
    followed = Followed(job_id, sent, time.monotonic(), [], [], 0)
    raw, stream = bytearray(), bytearray()
    ended = False
    while not ended and (data := await reader.read(262144)):
        now = time.monotonic()
        raw += data
        while (size_end := raw.find(b"\r\n")) >= 0:  # whole chunks only: size CRLF data CRLF
            size = int(raw[:size_end], 16)
            if len(raw) < size_end + 2 + size + 2:
                break
            stream += raw[size_end + 2 : size_end + 2 + size]
            del raw[: size_end + 2 + size + 2]
        ended = take_events(stream, followed, now)
    writer.close()
    return followed


async def follow_all(port: int, followers: list[tuple[str, str]]) -> tuple[list[Followed], float, float]:
    cpu, wall = time.process_time(), time.monotonic()
    results = await asyncio.gather(*(follow(port, job_id, key) for job_id, key in followers))
    return list(results), time.process_time() - cpu, time.monotonic() - wall


_all_started: threading.Barrier | None = None  # in a client process: every client process is up


def client_process_start(all_started: threading.Barrier) -> None:
    global _all_started
    _all_started = all_started


def client_ready() -> int:
    """Run once in each client process before any job starts, so none is spawned meanwhile
    (the barrier holds each one until all are up: no process takes two of these)."""
    assert _all_started is not None
    _all_started.wait(timeout=60)
    return os.getpid()


def follow_all_in_process(port: int, followers: list[tuple[str, str]]) -> tuple[list[Followed], float, float]:
    """One client process's share of the followers: what they saw, its CPU and wall seconds."""
    return asyncio.run(follow_all(port, followers))
