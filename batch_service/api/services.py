"""What the request handlers share for the life of the app, built in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from batch_service.admin.services import AdminServices
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
    scheduler: Scheduler
    metrics: ServiceMetrics
    submissions: JobSubmitter
    clock: ServiceClock
    admin: AdminServices
