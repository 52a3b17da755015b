"""Counts and times every HTTP request by route template (never by raw path, which holds ids)."""

from __future__ import annotations

import time

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batch_service.api.services import started_services

UNMATCHED = "unmatched"


def route_label(scope: Scope, request: Scope) -> str:
    """The template of the route that served `scope`, e.g. `/v1/jobs/{job_id}`.

    FastAPI's own routes record themselves in the scope; routes Starlette serves directly
    (`/openapi.json`, static mounts) are found again by matching `request`, the scope as it
    arrived (a mount rewrites `root_path`); only these few requests pay for that. A path no
    route matches is `unmatched`, so ids never become labels.
    """
    served_by = scope.get("route")
    if served_by is not None:
        return str(served_by.path)
    route: BaseRoute
    for route in scope["app"].routes:
        if route.matches(request)[0] is Match.FULL:
            return str(getattr(route, "path", UNMATCHED))
    return UNMATCHED


class RequestMetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so it costs little and never buffers SSE streams.

    The metrics live in the services the lifespan builds, so building the app creates no
    registry; before the lifespan ran there is nothing to count into.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = started_services(scope["app"]) if scope["type"] == "http" else None
        if services is None:
            await self.app(scope, receive, send)
            return
        metrics = services.metrics
        request = dict(scope)
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = route_label(scope, request)
            method = scope["method"]
            metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            metrics.latency.labels(method=method, route=route).observe(time.perf_counter() - started)
