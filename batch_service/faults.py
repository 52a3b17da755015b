"""What an injected fault does to one API call: answer an error, wait, or drop the connection.

Shared by a job's own scenario (`scenario.faults`) and the admin API's chaos rules. A fault
decided inside a handler is raised as `InjectedFault`; `fault_response` turns it into what
the client sees. A dropped connection cannot be expressed as an HTTP response: the service
sends the status line and closes the socket before the body, so the client reads an
incomplete response (httpx: `RemoteProtocolError`), as after a proxy or machine failure.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

FAULT_STATE_KEY = "injected_fault"  # request.state attribute naming the fault that fired, for the journal
MAX_DELAY_SECONDS = 600.0

FaultStatus = Annotated[int, Field(ge=400, le=599, description="HTTP status to answer with")]


class FaultAction(BaseModel):
    """One fault: an error `status` (with `Retry-After`), a `delay`, or a `drop`; a delay may
    precede either of the others (a delay then a drop is a request that times out)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    status: FaultStatus | None = None
    retry_after_seconds: int | None = Field(
        None, ge=0, le=86_400, description="sent as Retry-After with `status`"
    )
    delay_seconds: float = Field(
        0, ge=0, le=MAX_DELAY_SECONDS, allow_inf_nan=False, description="wait this long first"
    )
    drop: bool = Field(False, description="close the connection without a complete answer")

    @model_validator(mode="after")
    def _coherent(self) -> FaultAction:
        clashes = describe_action_clashes(self)
        if clashes:
            raise ValueError(clashes)
        return self

    @property
    def answers(self) -> bool:
        """Whether the call is answered by the fault (an error or a drop) rather than only delayed."""
        return self.status is not None or self.drop

    def describe(self) -> str:
        parts = []
        if self.delay_seconds:
            parts.append(f"delay {self.delay_seconds:g} s")
        if self.status is not None:
            retry = (
                f" (Retry-After {self.retry_after_seconds})" if self.retry_after_seconds is not None else ""
            )
            parts.append(f"{self.status}{retry}")
        if self.drop:
            parts.append("drop")
        return ", then ".join(parts)


def describe_action_clashes(action: FaultAction) -> str | None:
    if action.status is not None and action.drop:
        return "status and drop clash: a dropped connection answers no status"
    if action.retry_after_seconds is not None and action.status is None:
        return "retry_after_seconds needs a status to go with"
    if action.status is None and not action.drop and not action.delay_seconds:
        return "a fault needs a status, a drop or a delay_seconds"
    return None


class InjectedFault(Exception):
    """Raised by a handler whose job's scenario says this call fails; `label` names the fault."""

    def __init__(self, action: FaultAction, label: str) -> None:
        super().__init__(f"injected fault {label}: {action.describe()}")
        self.action = action
        self.label = label


class DroppedConnection(Response):
    """Sends the status line, then ends without a body: the server closes the connection."""

    def __init__(self) -> None:
        super().__init__(status_code=502)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": []})


def answer(action: FaultAction, label: str) -> Response:
    """The response of a fault that answers (call after its delay)."""
    if action.drop:
        return DroppedConnection()
    headers = {} if action.retry_after_seconds is None else {"Retry-After": str(action.retry_after_seconds)}
    return JSONResponse(
        {"detail": f"injected fault ({label}); retry later"},
        status_code=action.status or 503,
        headers=headers,
    )


async def injected_fault_handler(request: Request, error: Exception) -> Response:
    """The exception handler for `InjectedFault`: wait, note the fault for the journal, answer."""
    if not isinstance(error, InjectedFault):
        raise TypeError(f"injected_fault_handler got {type(error).__name__}")
    if error.action.delay_seconds:
        await asyncio.sleep(error.action.delay_seconds)
    setattr(request.state, FAULT_STATE_KEY, error.label)
    return answer(error.action, error.label)
