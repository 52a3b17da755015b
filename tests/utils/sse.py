"""Reading a Server-Sent Events follow the way a client does."""

from __future__ import annotations

import json
from typing import Any

import httpx


async def follow_events(
    client: httpx.AsyncClient, job_id: str, headers: dict[str, str]
) -> list[tuple[str, Any]]:
    """Every (event, decoded data) of a follow until the service ends the stream."""
    events: list[tuple[str, Any]] = []
    async with client.stream(
        "GET", f"/v1/jobs/{job_id}/logs", params={"follow": "true"}, headers=headers
    ) as r:
        assert r.status_code == 200, await r.aread()
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = data = ""
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
            elif line == "" and kind:
                events.append((kind, json.loads(data)))
                kind = data = ""
    return events


def line_seqs(events: list[tuple[str, Any]]) -> list[int]:
    return [data["seq"] for kind, data in events if kind == "line"]
