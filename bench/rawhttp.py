"""A lean HTTP/1.1 client for sending a fixed number of POSTs fast, over keep-alive connections.

httpx spends about 1.5-2 ms of CPU per request; on this 2-core machine a benchmark that
submits 1,000 jobs through it measures httpx as much as the service (client and server
each saturate a core). Requests here are bytes written to a socket and responses parsed
just enough (status, Content-Length, body): tens of microseconds each. It speaks only
what `batch-service` answers (Content-Length bodies, keep-alive) and only to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _request(host: str, path: str, headers: Mapping[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> RawResponse:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return RawResponse(status=int(status_line.split()[1]), body=await reader.readexactly(length))


async def post_json_many(
    url: str, bodies: Iterable[Mapping[str, Any]], *, headers: Mapping[str, str], connections: int
) -> list[RawResponse]:
    """POST each body as JSON to `url` over `connections` keep-alive connections; responses in order."""
    parts = urlsplit(url)
    if parts.hostname is None or not parts.hostname.startswith("127."):
        raise ValueError("benchmarks only load 127.0.0.1")
    host, port = parts.hostname, parts.port or 80
    all_headers = {"Content-Type": "application/json", **headers}
    work: Iterator[tuple[int, Mapping[str, Any]]] = enumerate(bodies)
    responses: dict[int, RawResponse] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for index, body in work:
                writer.write(_request(f"{host}:{port}", parts.path, all_headers, json.dumps(body).encode()))
                responses[index] = await _read_response(reader)
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return [responses[index] for index in range(len(responses))]
