"""`batch-service`: check the settings, then serve the API (`batch_service/server.py`)."""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

from pydantic import ValidationError
from sqlalchemy import make_url

from batch_service import sqlite_lock
from batch_service.api import create_app
from batch_service.db import Database
from batch_service.server import serve
from batch_service.settings import Settings, cli_settings_source
from batch_service.sqlite_file import sqlite_path
from batch_service.storage_errors import STORAGE_ERRORS, describe_storage_error


def load_settings(argv: list[str] | None = None) -> Settings:
    """Settings from `BATCH_*` variables, overridden by flags such as `--port 9000`."""
    flags = cli_settings_source("batch-service")(args=sys.argv[1:] if argv is None else argv)
    return Settings(_cli_settings_source=flags)


def describe(error: ValidationError) -> str:
    """One readable line per problem, never echoing the offending value (it may be a key)."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"  {where}: {message}" if where else f"  {message}")
    return "\n".join(lines)


def refuse_to_start(reason: str) -> NoReturn:
    print(f"batch-service: cannot start: {reason}", file=sys.stderr)
    raise SystemExit(1)


def claim_database(settings: Settings) -> None:
    """Take a SQLite file's lock for this process's life, before anything else opens it."""
    database = sqlite_path(settings.database_url)
    if database is not None:
        try:
            sqlite_lock.acquire(database)
        except sqlite_lock.DatabaseInUse as error:
            refuse_to_start(str(error))
        except OSError as error:
            refuse_to_start(f"cannot lock {database}: {error.strerror} ({error.filename})")


def check_database_answers(settings: Settings) -> None:
    """Connect once, within the configured timeouts, so an unreachable or silent database is
    one line on stderr rather than a hang or a traceback from inside the server."""
    db = Database(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout,
        statement_timeout=settings.database_statement_timeout,
    )
    try:
        db.ping()
    except STORAGE_ERRORS as error:
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        refuse_to_start(f"the database at {where} does not answer: {describe_storage_error(error)}")
    finally:
        db.close()


def main(argv: list[str] | None = None) -> None:
    try:
        settings = load_settings(argv)
    except ValidationError as error:
        print(f"batch-service: cannot start:\n{describe(error)}", file=sys.stderr)
        raise SystemExit(2) from None
    claim_database(settings)
    check_database_answers(settings)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve(create_app(settings), settings)
