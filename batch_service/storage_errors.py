"""What "the database failed" means, as opposed to "the request was wrong"."""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class StoreUnavailable(Exception):
    """The database cannot be used right now: gone, replaced, unwritable or unreachable."""


# Errors that mean the database failed, not the request: the answer is "retry later" (503).
STORAGE_ERRORS = (OperationalError, InterfaceError, PoolTimeout, StoreUnavailable)


def describe_storage_error(error: BaseException) -> str:
    """One line naming what failed, without SQL or parameters (they may hold user data)."""
    cause = getattr(error, "orig", None) or error
    return f"{type(cause).__name__}: {cause}".splitlines()[0]
