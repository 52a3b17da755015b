"""UNAVAILABLE, not INTERNAL, when CreateTask or DeleteTask fail because the batch API does not answer.

The SDK's connector server (`c0`) answers any exception a connector raises from create, get
or delete with gRPC INTERNAL, in `flyte.connectors._server._handle_exception`, and offers no
public way for a connector to choose the status. An outage is worth retrying, and gRPC's
code for "try again" is UNAVAILABLE, so `install()` wraps that private function: it lets
the SDK log and count the failure as before, then sets UNAVAILABLE for the errors in
`RETRYABLE`. This module is the connector's only use of a private SDK module; if a new SDK
moves the function, `install()` leaves the server alone (INTERNAL again), and
tests/connector/test_deadlines.py fails. my_connector/README.md lists it under SDK workarounds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from flyte.connectors import _server

from my_connector.api import BatchServiceUnavailable

RETRYABLE: tuple[type[Exception], ...] = (BatchServiceUnavailable,)
_MARK = "_batch_connector_retryable_status"

ExceptionHandler = Callable[[Exception, Any, str, str], None]


def with_retryable_status(handle: ExceptionHandler) -> ExceptionHandler:
    """`handle`, then UNAVAILABLE for a retryable error (the SDK's message and metrics stay)."""

    def handle_exception(error: Exception, context: Any, task_type: str, operation: str) -> None:
        handle(error, context, task_type, operation)
        if isinstance(error, RETRYABLE):
            context.set_code(grpc.StatusCode.UNAVAILABLE)

    setattr(handle_exception, _MARK, True)
    return handle_exception


def install() -> None:
    """Wrap the SDK server's exception handler once, however often the connector is imported."""
    current = getattr(_server, "_handle_exception", None)
    if current is None or getattr(current, _MARK, False):
        return
    _server._handle_exception = with_retryable_status(current)
