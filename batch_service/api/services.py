"""What the request handlers share for the life of the app, built in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette

from batch_service.admin.services import AdminServices
from batch_service.api.followers import Followers
from batch_service.auth import KeyRing, LogsTokenSigner
from batch_service.clock import ServiceClock
from batch_service.db import Database
from batch_service.metrics import ServiceMetrics
from batch_service.ratelimit import RateLimiter
from batch_service.scheduler import Scheduler
from batch_service.settings import Settings
from batch_service.store.submissions import JobSubmitter


@dataclass
class Services:
    settings: Settings
    db: Database
    keys: KeyRing
    logs_tokens: LogsTokenSigner
    limiter: RateLimiter
    followers: Followers
    scheduler: Scheduler
    metrics: ServiceMetrics
    submissions: JobSubmitter
    clock: ServiceClock
    admin: AdminServices


def install_services(app: Starlette, services: Services) -> None:
    app.state.services = services


def started_services(app: Starlette) -> Services | None:
    """The app's services once its lifespan has built them, else None."""
    services = getattr(app.state, "services", None)
    return services if isinstance(services, Services) else None


def running_services(app: Starlette) -> Services:
    """The app's services, for code that only runs while the app serves requests."""
    services = started_services(app)
    if services is None:
        raise RuntimeError("the batch service's lifespan has not started (no services yet)")
    return services
