"""The database: engine set-up, migrations, and running session work off the event loop.

Every call into the database runs in a worker thread so the event loop never blocks. On
SQLite all writes go through one dedicated thread: SQLite allows one writer at a time, and
queueing writes in-process is far cheaper than having threads fight over the file lock.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from batch_service.feed import ChangeFeed
from batch_service.feed.cache import CACHED_JOBS, JobCache
from batch_service.feed.hub import settle
from batch_service.pg_watchdog import StatementWatchdog
from batch_service.sqlite_file import SqliteFile, sqlite_path
from batch_service.storage_errors import StoreUnavailable

T = TypeVar("T")

MIGRATION_LOCK_ID = 72_541_903  # any constant: serialises replicas migrating one PostgreSQL database
READER_THREADS = 4  # enough to overlap waits; more only adds GIL contention on small queries
WATCHDOG_GRACE_SECONDS = 1.0
UNDEFINED_TABLE = "42P01"  # PostgreSQL: the database was dropped and recreated under us (SQLite: 503 already)


def make_engine(url: str, *, connect_timeout: int = 5, statement_timeout: float | None = 10) -> Engine:
    """An engine for `url`; on PostgreSQL with the connect and statement timeouts (None: no
    statement timeout, for migrations that may rightly run long)."""
    if url.startswith("sqlite"):
        # A pooled connection per thread (readers, the writer, spare): opening one costs the
        # connect plus the PRAGMAs below, far more than the query it would serve.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=READER_THREADS + 2,
            max_overflow=4,
        )
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    options = {"connect_timeout": connect_timeout}
    if statement_timeout is not None:
        options["options"] = f"-c statement_timeout={round(statement_timeout * 1000)}"
    # No pool_pre_ping: a connection found dead fails its one call (503) and SQLAlchemy then
    # drops every pooled connection; a ping could hang where the watchdog cannot see it.
    return create_engine(
        url,
        pool_size=READER_THREADS + 2,
        max_overflow=4,
        pool_timeout=statement_timeout or 30,
        connect_args=options,
    )


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer. FULL syncs the WAL at every commit, so an
    acknowledged write survives a power cut too, not only a killed process; group commit
    shares that fsync among the submits of a batch."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision; safe with replicas starting together."""
    config = Config()
    config.set_main_option("script_location", "batch_service:migrations")
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """Owns the engine and the threads that talk to it, and on SQLite the file (its lock,
    and the check that a write landed in the file the service started on)."""

    def __init__(self, url: str, *, connect_timeout: int = 5, statement_timeout: float = 10) -> None:
        path = sqlite_path(url)
        self.file = SqliteFile(path) if path else None
        self._url = url
        self._connect_timeout = connect_timeout
        self.engine = make_engine(url, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # Past the server's own statement timeout, plus a grace for it to answer first.
        self._watchdog = (
            None
            if self.is_sqlite
            else StatementWatchdog(self.engine, statement_timeout + WATCHDOG_GRACE_SECONDS)
        )
        self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="db-read")
        self._writer = (
            ThreadPoolExecutor(1, thread_name_prefix="db-write") if self.is_sqlite else self._readers
        )
        # What this process commits reaches the feed; on SQLite nothing else writes the file,
        # so live jobs may be served from memory too (batch_service/feed/cache.py).
        cache = JobCache(keep_live=self.is_sqlite, capacity=CACHED_JOBS)
        self.feed = ChangeFeed(replica=uuid.uuid4().hex, cache=cache, notify=not self.is_sqlite)

    def migrate(self) -> None:
        """Bring the schema up to date, then pin the SQLite file this process now serves from.

        Migrations get an engine of their own without a statement timeout: building an index
        on a large table may rightly take longer than any API call should.
        """
        engine = make_engine(self._url, connect_timeout=self._connect_timeout, statement_timeout=None)
        try:
            migrate(engine)
        finally:
            engine.dispose()
        if self.file is not None:
            self.file.pin()

    async def read(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        """Run `work(session=…, **kwargs)` in a reader thread."""
        return await self._run(self._readers, functools.partial(self._with_session, work, kwargs))

    async def write(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        """Run `work(session=…, **kwargs)` where writes are allowed; `work` commits.

        On SQLite the write counts only if the file at the path is still the one pinned at
        start: a commit into a removed or replaced file raises StoreUnavailable instead.
        """
        return await self._run(self._writer, functools.partial(self._write_with_session, work, kwargs))

    async def _run(self, pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, call)

    def _with_session(self, work: Callable[..., T], kwargs: dict[str, Any]) -> T:
        with Session(self.engine, expire_on_commit=False, info=self.feed.session_info()) as session:
            try:
                return work(session=session, **kwargs)
            except ProgrammingError as error:
                if getattr(error.orig, "sqlstate", None) == UNDEFINED_TABLE:
                    raise StoreUnavailable(
                        "the database has lost its tables (dropped or replaced)"
                    ) from error
                raise
            finally:
                settle(session)

    def _write_with_session(self, work: Callable[..., T], kwargs: dict[str, Any]) -> T:
        result = self._with_session(work, kwargs)
        if self.file is not None:
            self.file.check()
        return result

    def ping(self) -> None:
        """Make sure the database answers (blocking: for start-up, before the event loop)."""
        self._with_session(lambda *, session: session.execute(text("SELECT 1")), {})

    def check_file(self) -> None:
        """Raise StoreUnavailable if the SQLite file was removed or replaced (no-op elsewhere)."""
        if self.file is not None:
            self.file.check()

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self.engine.dispose()
        if self.file is not None:
            self.file.close()
