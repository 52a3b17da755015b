"""Request dependencies: authentication and rate limiting for `/v1`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from batch_service.api.services import Services, running_services
from batch_service.auth import bearer_token, is_logs_token


class RfcBearer(HTTPBearer):
    """FastAPI's Bearer scheme (for OpenAPI), parsing the header by RFC 6750's grammar."""

    async def __call__(self, request: Request) -> HTTPAuthorizationCredentials | None:  # type: ignore[override]
        token = bearer_token(request.headers.get("Authorization"))
        return None if token is None else HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)


bearer = RfcBearer(auto_error=False, description="An API key from BATCH_API_KEYS, or a job's logs_token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def get_services(request: Request) -> Services:
    return running_services(request.app)


ServicesDep = Annotated[Services, Depends(get_services)]


def unauthorized(detail: str = "missing or invalid API key") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def _enforce_rate_limit(services: Services, caller: str) -> None:
    """`caller` is an authenticated identity: forged credentials never reach a bucket."""
    wait = services.limiter.retry_after(caller)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"rate limit of {services.limiter.per_second:g} requests/s exceeded",
            headers={"Retry-After": str(wait)},
        )


def owner_bucket(owner: str) -> str:
    return f"owner:{owner}"


def _owner_of(services: Services, token: str | None) -> str:
    """The owner of the presented API key. A logs token is not an API key and is refused."""
    if token is not None and is_logs_token(token):
        raise unauthorized("a logs token may only read its job's logs")
    owner = services.keys.owner_for(token)
    if owner is None:
        raise unauthorized()
    _enforce_rate_limit(services, owner_bucket(owner))
    return owner


# One dependency per /v1 call, doing authentication and rate limiting in turn: solving
# FastAPI dependencies is a large share of a request this small (see bench/), so each is a
# Bearer scheme itself rather than a dependency on one (the OpenAPI document is the same:
# every scheme is named RfcBearer). Faults are injected before routing
# (batch_service/admin/middleware.py).
SCHEME = {"scheme_name": "RfcBearer", "auto_error": False, "description": bearer.model.description}


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the owner of its API key, and what the handlers share."""

    owner: str
    services: Services


class RequireCaller(HTTPBearer):
    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        services = running_services(request.app)
        token = bearer_token(request.headers.get("Authorization"))
        return Caller(owner=_owner_of(services, token), services=services)


@dataclass(frozen=True)
class LogReader:
    """Who may read one job's logs: its owner's key (`owner`), or that job's logs token
    (`owner` None; the token was checked against the job id in the path)."""

    owner: str | None
    services: Services


class RequireLogReader(HTTPBearer):
    async def __call__(self, request: Request) -> LogReader:  # type: ignore[override]
        services = running_services(request.app)
        token = bearer_token(request.headers.get("Authorization"))
        if token is not None and is_logs_token(token):
            job_id = request.path_params["job_id"]
            if not services.logs_tokens.is_valid(token, job_id):
                raise unauthorized("this logs token is not valid for this job")
            _enforce_rate_limit(services, f"logs:{job_id}")
            return LogReader(owner=None, services=services)
        return LogReader(owner=_owner_of(services, token), services=services)


require_caller = RequireCaller(**SCHEME)
require_log_reader = RequireLogReader(**SCHEME)
CallerDep = Annotated[Caller, Depends(require_caller)]
LogReaderDep = Annotated[LogReader, Depends(require_log_reader)]
