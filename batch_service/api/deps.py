"""Request dependencies: authentication and rate limiting for `/v1`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from batch_service.api.services import Services
from batch_service.auth import is_logs_token

bearer = HTTPBearer(auto_error=False, description="An API key from BATCH_API_KEYS, or a job's logs_token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def unauthorized(detail: str = "missing or invalid API key") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def _enforce_rate_limit(services: Services, token: str | None) -> None:
    if not services.limiter.enabled:
        return
    key = hashlib.sha256((token or "").encode()).digest()
    wait = services.limiter.retry_after(key)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"rate limit of {services.limiter.per_second:g} requests/s per key exceeded",
            headers={"Retry-After": str(wait)},
        )


def _owner_of(services: Services, token: str | None) -> str:
    """The owner of the presented API key. A logs token is not an API key and is refused."""
    if token is not None and is_logs_token(token):
        raise unauthorized("a logs token may only read its job's logs")
    owner = services.keys.owner_for(token)
    if owner is None:
        raise unauthorized()
    _enforce_rate_limit(services, token)
    return owner


# One dependency per /v1 call, doing authentication and rate limiting in turn: solving
# FastAPI dependencies is a large share of a request this small (see bench/). Faults are
# injected before routing (batch_service/admin/middleware.py).


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the owner of its API key, and what the handlers share."""

    owner: str
    services: Services


async def require_caller(request: Request, credentials: Credentials) -> Caller:
    services: Services = request.app.state.services
    return Caller(
        owner=_owner_of(services, credentials.credentials if credentials else None), services=services
    )


@dataclass(frozen=True)
class LogReader:
    """Who may read one job's logs: its owner's key, or that job's logs token."""

    owner: str | None
    logs_token: str | None
    services: Services


async def require_log_reader(request: Request, credentials: Credentials) -> LogReader:
    services: Services = request.app.state.services
    token = credentials.credentials if credentials else None
    if token is not None and is_logs_token(token):
        _enforce_rate_limit(services, token)
        return LogReader(owner=None, logs_token=token, services=services)
    return LogReader(owner=_owner_of(services, token), logs_token=None, services=services)


CallerDep = Annotated[Caller, Depends(require_caller)]
LogReaderDep = Annotated[LogReader, Depends(require_log_reader)]
