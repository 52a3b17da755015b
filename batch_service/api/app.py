"""The FastAPI application and its lifespan: migrate, load secrets, run the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from batch_service import __version__, admin, dashboard
from batch_service.api.body_limit import BodyLimitMiddleware
from batch_service.api.docs import install_docs
from batch_service.api.errors import internal_error_handler, validation_error_handler
from batch_service.api.followers import Followers
from batch_service.api.request_metrics import RequestMetricsMiddleware
from batch_service.api.routes import health, jobs, logs, usage
from batch_service.api.services import Services, install_services
from batch_service.api.unavailable import storage_error_handler
from batch_service.auth import KeyRing, LogsTokenSigner
from batch_service.clock import ServiceClock
from batch_service.db import Database
from batch_service.feed.listener import listen_forever
from batch_service.limits import MAX_BODY_BYTES
from batch_service.metrics import ServiceMetrics
from batch_service.models import ErrorBody
from batch_service.ratelimit import RateLimiter
from batch_service.scheduler import Scheduler, TickReport
from batch_service.settings import Settings
from batch_service.storage_errors import STORAGE_ERRORS
from batch_service.store.secrets import get_or_create_secret
from batch_service.store.submissions import JobSubmitter

V1_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid key (WWW-Authenticate: Bearer)"},
    429: {"model": ErrorBody, "description": "Rate limit exceeded; see Retry-After"},
    503: {"model": ErrorBody, "description": "Injected fault or not ready; see Retry-After"},
}
LOGS_TOKEN_SECRET = "logs_token_key"


async def start_services(settings: Settings) -> Services:
    """Migrate, load the signing key, and build what the handlers share (not yet ticking)."""
    db = Database(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout,
        statement_timeout=settings.database_statement_timeout,
    )
    await asyncio.to_thread(db.migrate)
    signing_key = (
        settings.secret_key.get_secret_value()
        if settings.secret_key
        else await db.write(
            get_or_create_secret, name=LOGS_TOKEN_SECRET, generate=lambda: secrets.token_urlsafe(32)
        )
    )
    metrics = ServiceMetrics()
    clock = await ServiceClock.load(db)
    admin_services = admin.build_admin_services(settings)

    def record(report: TickReport) -> None:
        for state in report.finished.values():
            metrics.jobs_finished.labels(state=state.value).inc()
        metrics.log_lines_written.inc(report.lines_written)
        metrics.tick_seconds.observe(report.seconds)
        admin_services.ticks.finished_one(report.lines_written)

    scheduler = Scheduler(
        db,
        max_running=settings.max_running,
        max_running_per_owner=settings.max_running_per_owner,
        lines_per_tick=settings.log_lines_per_tick,
        lease_seconds=settings.lease_seconds,
        tick_seconds=settings.tick_seconds,
        on_tick=record,
        clock=clock.now,
    )
    await scheduler.start()
    limiter = RateLimiter(settings.rate_limit)
    followers = Followers(per_job=settings.max_followers_per_job, per_owner=settings.max_followers_per_owner)
    metrics.rate_limit_buckets.set_function(lambda: limiter.bucket_count)
    metrics.log_followers.set_function(lambda: followers.active)
    return Services(
        settings=settings,
        db=db,
        keys=KeyRing(settings.parsed_api_keys, allow_anonymous=settings.allow_anonymous),
        logs_tokens=LogsTokenSigner(signing_key),
        limiter=limiter,
        followers=followers,
        scheduler=scheduler,
        metrics=metrics,
        submissions=JobSubmitter(db),
        clock=clock,
        admin=admin_services,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Without `settings`, BATCH_* is read when the app starts, not now.

    Building is side-effect free (no settings, no database, no metrics registry): everything
    with state is made in the lifespan, so importing or building the app anywhere (a test, a
    tool reading the OpenAPI schema) needs no keys and touches no database.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await start_services(settings or Settings())
        install_services(app, services)
        services.db.feed.attach(asyncio.get_running_loop())
        background = [asyncio.create_task(services.scheduler.run_forever(), name="scheduler")]
        if not services.db.is_sqlite:  # hear the other replicas' changes
            listening = listen_forever(services.db.feed, services.settings.database_url)
            background.append(asyncio.create_task(listening, name="change-feed"))
        if services.settings.test_mode:  # follow clock advances made through other replicas
            following = services.clock.follow(services.db, services.settings.tick_seconds)
            background.append(asyncio.create_task(following, name="test-clock"))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            services.db.close()

    app = FastAPI(
        title="Batch service",
        version=__version__,
        description="Submit simulated batch jobs, follow their state and page their logs. "
        "Every /v1 call needs `Authorization: Bearer <key>`.",
        lifespan=lifespan,
        docs_url=None,  # served from the package by install_docs, not from a CDN
        redoc_url=None,
        # Metrics are Prometheus (/metrics). FastAPI's OpenTelemetry hooks, left on, look for
        # a tracer and a meter provider in every request (about 5% of a submit's CPU).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # Routes are tried in order: the API's first, as nearly every call is one of them.
    # Each router carries its whole /v1/... prefix, for metrics.
    for v1_router in (jobs.router, logs.router, usage.router):
        app.include_router(v1_router, responses=V1_ERRORS)
    install_docs(app)
    app.include_router(health.router)
    app.include_router(dashboard.router)
    app.mount(dashboard.STATIC_PATH, dashboard.static_files(), name=dashboard.STATIC_NAME)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(Exception, internal_error_handler)
    for storage_error in STORAGE_ERRORS:
        app.add_exception_handler(storage_error, storage_error_handler)
    admin.install(app)  # before the metrics middleware, which then counts faulted calls too
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(RequestMetricsMiddleware)
    return app
