"""Serve the app with uvicorn, bounded against slow and greedy clients.

uvicorn (0.54) starts no timer when a connection opens or a request begins: its only one,
`timeout_keep_alive`, runs between requests and stops at the first byte of the next. A
client that sends half a request line or half a header holds its socket for good, and a few
hundred of them exhaust the process's file descriptors; then nobody, `/healthz` included, is
answered. `limit_concurrency` does not help: it answers 503 only once a request's headers
are complete, which such a client never sends, and it counts those sockets against everyone.
`h11_max_incomplete_event_size` bounds header bytes for the h11 parser only (not httptools,
the one `uvicorn[standard]` runs), and the listen backlog only queues connections not yet
accepted.

So this module subclasses uvicorn's httptools protocol with what nginx
(`client_header_timeout`, `worker_connections`, `large_client_header_buffers`) and Apache
(`mod_reqtimeout`) do: a request must arrive whole within `BATCH_READ_TIMEOUT_SECONDS` of its
first byte (or of the connection opening), else a JSON 408 and a closed socket; past
`BATCH_MAX_CONNECTIONS` open connections a new one gets a JSON 503 with `Retry-After` and is
closed at once; a request head over `MAX_HEADER_BYTES` gets a JSON 431. Staying on uvicorn
keeps its httptools speed (see bench/) and every other behaviour the suite relies on; the
subclass overrides four of its callbacks and calls the originals.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import resource
from asyncio import TimerHandle
from dataclasses import dataclass
from http import HTTPStatus

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from batch_service.limits import MAX_HEADER_BYTES
from batch_service.settings import Settings

logger = logging.getLogger(__name__)
RESERVED_FDS = 64  # database connections, log files, the listening socket: never for clients
KEEP_ALIVE_SECONDS = 5  # uvicorn's default idle time between requests, said out loud
FULL_PASS_EVERY = 100  # middle-generation collections per full one (CPython: 10)
# After a 408 or 431 the socket is half-closed and what the client still sends is read and
# dropped for this long before closing: closing with unread input would reset the
# connection and could destroy the answer before the client reads it (Apache's
# "lingering close").
LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int
    read_timeout_seconds: float
    max_header_bytes: int = MAX_HEADER_BYTES


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request read timeout, a connection cap and a
    bound on request heads. Built per server by `bounded_protocol`, which sets `limits`."""

    limits: ConnectionLimits

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._read_timer: TimerHandle | None = None
        self._lingering = False
        self._awaiting_head = True
        self._head_bytes = 0
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(  # closed at once: lingering would hold a descriptor past the cap
                HTTPStatus.SERVICE_UNAVAILABLE,
                "too many open connections (BATCH_MAX_CONNECTIONS); retry later",
                retry_after=1,
                linger=False,
            )
            return
        self._arm_read_timer()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        head_was_incomplete = self._awaiting_head
        super().data_received(data)
        if head_was_incomplete and self._awaiting_head and not self.transport.is_closing():
            # The same head was incomplete before and after this chunk: all of it is head.
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse(
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    f"the request line and headers are over {self.limits.max_header_bytes} bytes",
                )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_head = True
        self._head_bytes = 0
        self._arm_read_timer()

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm_read_timer()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._disarm_read_timer()  # an answer sent before the whole body came (a 401, a 413)
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_timer()
        super().connection_lost(exc)

    def _arm_read_timer(self) -> None:
        self._disarm_read_timer()
        self._read_timer = self.loop.call_later(self.limits.read_timeout_seconds, self._read_timed_out)

    def _disarm_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        if self._awaiting_head:
            self._refuse(
                HTTPStatus.REQUEST_TIMEOUT,
                f"the request did not arrive within {self.limits.read_timeout_seconds:g} s "
                "(BATCH_READ_TIMEOUT_SECONDS)",
            )
        else:  # the body stalled: the app is reading it, so just end the connection
            self.transport.close()

    def _refuse(
        self, status: HTTPStatus, detail: str, retry_after: int | None = None, linger: bool = True
    ) -> None:
        """Answer with a JSON error and close, without involving the app."""
        self._disarm_read_timer()
        body = json.dumps({"detail": detail}).encode()
        head = [
            f"HTTP/1.1 {status.value} {status.phrase}",
            "content-type: application/json",
            f"content-length: {len(body)}",
            "connection: close",
        ]
        if retry_after is not None:
            head.append(f"retry-after: {retry_after}")
        self.transport.write("\r\n".join([*head, "", ""]).encode() + body)
        if linger and self.transport.can_write_eof():
            self._lingering = True
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def bounded_protocol(limits: ConnectionLimits) -> type[BoundedHttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, carrying these limits."""
    return type("BoundedHttpToolsProtocol", (BoundedHttpToolsProtocol,), {"limits": limits})


def connection_limit(wanted: int) -> int:
    """`wanted`, if the process may open that many descriptors besides its own; the soft
    RLIMIT_NOFILE is raised toward the hard one for it (as Go's runtime does), and if even
    the hard limit is too low the cap shrinks to fit, so a full house never means EMFILE."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + RESERVED_FDS
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        soft = raised
    if soft != resource.RLIM_INFINITY and soft < needed:
        fitted = max(1, soft - RESERVED_FDS)
        logger.warning(
            "BATCH_MAX_CONNECTIONS=%d needs %d file descriptors; this process may open %d, "
            "so at most %d connections are accepted",
            wanted,
            needed,
            soft,
            fitted,
        )
        return fitted
    return wanted


def settle_heap() -> None:
    """Keep what start-up built out of the garbage collector's full passes, and make those
    passes rarer.

    Modules, the app and its schemas are a few hundred thousand objects that live as long
    as the process. A full collection walks every tracked object, and with a thousand open
    log streams it paused the event loop for 60-250 ms at a time (bench/followers.py).
    Frozen, start-up's objects are skipped; and a full pass comes after FULL_PASS_EVERY
    middle-generation passes instead of CPython's 10. Young garbage is still collected as
    often as CPython does it: a larger first generation cost 3.5 MiB of RSS with 100,000
    jobs (bench/memory.py), this costs none.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_PASS_EVERY)


def serve(app: FastAPI, settings: Settings) -> None:
    settle_heap()
    limits = ConnectionLimits(
        max_connections=connection_limit(settings.max_connections),
        read_timeout_seconds=settings.read_timeout_seconds,
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        http=bounded_protocol(limits),
    )
