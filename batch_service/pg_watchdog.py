"""A deadline on every PostgreSQL call, kept even by a server that stops answering.

PostgreSQL's `statement_timeout` cancels slow statements on a live server, and libpq's
`connect_timeout` bounds a connection attempt. Neither helps once a connection is open and
the server (or anything between) goes silent: the worker thread waits on the socket for
good, and with it every request queued behind it. This watchdog notes when each checked-out
connection last started a statement and, past the deadline, shuts its socket down. The
waiting call then fails like any lost connection (SQLAlchemy drops it from the pool), and
the request is answered 503.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any

from sqlalchemy import Engine, event

logger = logging.getLogger("batch_service.db")

CHECK_EVERY_SECONDS = 0.5


class StatementWatchdog:
    def __init__(self, engine: Engine, deadline_seconds: float) -> None:
        self.deadline_seconds = deadline_seconds
        self._busy: dict[int, tuple[Any, float]] = {}  # id(dbapi connection) -> (it, last start)
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        event.listen(engine, "checkout", self._on_checkout)
        event.listen(engine, "before_cursor_execute", self._on_statement)
        event.listen(engine, "checkin", self._on_checkin)
        self._thread = threading.Thread(target=self._watch, name="db-watchdog", daemon=True)
        self._thread.start()

    def _on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        self._touch(dbapi_connection)

    def _on_statement(self, connection: Any, *_args: Any) -> None:
        self._touch(connection.connection.dbapi_connection)

    def _on_checkin(self, dbapi_connection: Any, _record: Any) -> None:
        with self._lock:
            self._busy.pop(id(dbapi_connection), None)

    def _touch(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._busy[id(dbapi_connection)] = (dbapi_connection, time.monotonic())

    def _watch(self) -> None:
        while not self._stopped.wait(CHECK_EVERY_SECONDS):
            now = time.monotonic()
            with self._lock:
                overdue = [
                    (key, connection)
                    for key, (connection, started) in self._busy.items()
                    if now - started > self.deadline_seconds
                ]
                for key, _ in overdue:
                    del self._busy[key]
            for _, connection in overdue:
                self._cut(connection)

    def _cut(self, dbapi_connection: Any) -> None:
        """Shut the socket down under the waiting thread; it owns (and later closes) the fd."""
        with contextlib.suppress(Exception):  # already closed: nothing is waiting on it
            fd = dbapi_connection.pgconn.socket
            logger.warning("a database call outlived %.0f s: dropping its connection", self.deadline_seconds)
            with socket.socket(fileno=socket.dup(fd)) as duplicate:
                duplicate.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
