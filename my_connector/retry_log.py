"""Each retry of a batch API call logged as one line that says what is being retried.

stamina logs a scheduled retry to the standard `stamina` logger as the bare message
`stamina.retry_scheduled`, with the details in `extra`, which most formats (and Python's
last-resort handler, all a local run or `c0` has for that logger) never print. While the
client retries a call it marks the call in a context variable; this filter rewrites
stamina's record for that call into

    batch API GET /v1/jobs/job-8aab…: 503 Service Unavailable; retry 2 of 9 in 1.00 s

Records of anyone else's retries pass unchanged. The line holds the method, path and
cause only: keys and tokens travel in headers, which it never shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

STAMINA_MESSAGE = "stamina.retry_scheduled"


@dataclass
class RetriedCall:
    """The call being retried; `cause` is the last failure, set before stamina schedules a retry."""

    method: str
    path: str
    retries: int
    cause: str = "no answer"


_current_call: ContextVar[RetriedCall | None] = ContextVar("batch_api_retried_call", default=None)


@contextmanager
def retried_call(method: str, path: str, *, attempts: int) -> Iterator[RetriedCall]:
    """Mark `method path` as the call whose retries stamina is about to log, in this task only."""
    call = RetriedCall(method=method, path=path, retries=attempts - 1)
    token = _current_call.set(call)
    try:
        yield call
    finally:
        _current_call.reset(token)


class DescribeRetries(logging.Filter):
    """Rewrite stamina's retry record for the call in progress; pass every other record as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        call = _current_call.get()
        if call is not None and record.msg == STAMINA_MESSAGE:
            record.msg = "batch API %s %s: %s; retry %s of %s in %.2f s"
            record.args = (
                call.method,
                call.path,
                call.cause,
                getattr(record, "stamina.retry_num", "?"),
                call.retries,
                float(getattr(record, "stamina.wait_for", 0.0)),
            )
        return True


logging.getLogger("stamina").addFilter(DescribeRetries())
