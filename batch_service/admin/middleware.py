"""Chaos rules and the journal, around every API call (pure ASGI, like the metrics middleware).

A rule is matched against the route template before the app routes the call, so a faulted
call costs no handler, no database and no authentication; calls with no rules configured
and no journal pay one attribute check.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batch_service.admin.chaos import ChaosRules
from batch_service.admin.journal import journal_job_id
from batch_service.auth import is_logs_token
from batch_service.faults import FAULT_STATE_KEY, answer
from batch_service.models import rfc3339

JOURNALED_PREFIXES = ("/v1/", "/healthz", "/readyz", "/metrics")


def app_routes(app: Any) -> list[Any]:
    """The app's routes, flat. FastAPI 0.16x keeps included routers as lazy groups, which
    `iter_route_contexts` opens; before that, `app.routes` was already flat."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazily included routers
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def match_route(scope: Scope) -> Any | None:
    """The route the app will pick for this call (a method mismatch still names its route)."""
    partial = None
    for route in app_routes(scope["app"]):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            return credentials.strip() or None if scheme.lower() == "bearer" else None
    return None


def header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return value.decode("latin-1")
    return None


class Caller:
    """Who is calling, worked out only if a rule or the journal asks (it hashes the key)."""

    def __init__(self, scope: Scope, services: Any) -> None:
        self._token = bearer_token(scope)
        self._services = services
        self._owner: tuple[str | None] | None = None

    @property
    def credential(self) -> str:
        if self._token is None:
            return "none"
        if is_logs_token(self._token):
            return "logs_token"
        return "api_key" if self.owner() is not None else "invalid"

    def owner(self) -> str | None:
        if self._owner is None:
            is_key = self._token is not None and not is_logs_token(self._token)
            self._owner = (self._services.keys.owner_for(self._token) if is_key else None,)
        return self._owner[0]


@dataclass
class RuleOutcome:
    label: str | None = None  # the rule that fired
    answered: bool = False  # it answered the call itself (the app never saw it)


@dataclass
class ResponseSeen:
    status: int | None = None
    complete: bool = False  # the whole body went out: a dropped connection never completes


class ChaosAndJournalMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = getattr(scope["app"].state, "services", None) if scope["type"] == "http" else None
        if services is None:
            await self.app(scope, receive, send)
            return
        admin = services.admin
        journaled = admin.journal is not None and scope["path"].startswith(JOURNALED_PREFIXES)
        if not admin.rules and not journaled:
            await self.app(scope, receive, send)
            return

        arrived, started = time.time(), time.perf_counter()
        caller = Caller(scope, services)
        seen = ResponseSeen()

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                seen.complete = True
            await send(message)

        outcome = RuleOutcome()
        try:
            if admin.rules:
                outcome = await self._apply_rules(scope, receive, recording, admin.rules, caller)
            if not outcome.answered:
                await self.app(scope, receive, recording)
        finally:
            if journaled:
                admin.journal.record(
                    time=rfc3339(arrived),
                    method=scope["method"],
                    route=getattr(scope.get("route"), "path", None),
                    job_id=journal_job_id(scope.get("path_params", {})),
                    status=seen.status if seen.complete else None,
                    owner=caller.owner(),
                    credential=caller.credential,
                    idempotency_key=header(scope, b"idempotency-key"),
                    fault=outcome.label or scope.get("state", {}).get(FAULT_STATE_KEY),
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )

    async def _apply_rules(
        self, scope: Scope, receive: Receive, send: Send, rules: ChaosRules, caller: Caller
    ) -> RuleOutcome:
        """Apply the first rule that fires. One that answers sets `scope["route"]` (for metrics
        and the journal), as the router would have."""
        route = match_route(scope)
        if route is None:
            return RuleOutcome()
        rule = rules.firing(scope["method"], getattr(route, "path", ""), caller.owner)
        if rule is None:
            return RuleOutcome()
        action = rule.spec.action
        if action.delay_seconds:
            await asyncio.sleep(action.delay_seconds)
        if not action.answers:
            return RuleOutcome(label=rule.label)
        _, child = route.matches(scope)
        scope.update(route=getattr(route, "original_route", route), path_params=child.get("path_params", {}))
        await answer(action, rule.label)(scope, receive, send)
        return RuleOutcome(label=rule.label, answered=True)
