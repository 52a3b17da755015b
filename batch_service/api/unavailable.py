"""Database trouble is an answer: JSON 503 with Retry-After, never a plain-text 500.

A client (the connector, any HTTP client with a retry policy) treats 503 + Retry-After as
"try again later"; a 500 reads as a bug and a hang reads as nothing at all.
"""

from __future__ import annotations

import logging
import time

from fastapi import Request, status
from fastapi.responses import JSONResponse

from batch_service.storage_errors import describe_storage_error

logger = logging.getLogger("batch_service.api")

RETRY_AFTER_SECONDS = 1
UNAVAILABLE = "the database is unavailable; retry later"
LOG_EVERY_SECONDS = 10.0  # an outage answers every request 503: log it, not each request


class _LogThrottle:
    def __init__(self) -> None:
        self.last = -LOG_EVERY_SECONDS
        self.quiet = 0

    def should_log(self) -> bool:
        now = time.monotonic()
        if now - self.last < LOG_EVERY_SECONDS:
            self.quiet += 1
            return False
        self.last = now
        return True


_throttle = _LogThrottle()


async def storage_error_handler(request: Request, error: Exception) -> JSONResponse:
    if _throttle.should_log():
        logger.warning(
            "%s %s answered 503 (and %d other requests since the last such line): %s",
            request.method,
            request.url.path,
            _throttle.quiet,
            describe_storage_error(error),
        )
        _throttle.quiet = 0
    return JSONResponse(
        {"detail": UNAVAILABLE},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
