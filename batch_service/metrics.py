"""Prometheus metrics: HTTP traffic by route template (never by raw path, which holds ids),
and the job table's shape, counted when scraped. `api/request_metrics.py` feeds the HTTP ones."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from batch_service.models import JobState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Fine below the 0.1 s tick period, where a healthy tick lives; coarse up to a stalled one.
TICK_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10)


class ServiceMetrics:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "batch_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "batch_http_request_duration_seconds",
            "Time to the end of the response",
            ["method", "route"],
            registry=self.registry,
        )
        self.jobs = Gauge("batch_jobs", "Jobs stored, by state", ["state"], registry=self.registry)
        self.queue_depth = Gauge("batch_queue_depth", "Jobs waiting to run (QUEUED)", registry=self.registry)
        self.jobs_finished = Counter(
            "batch_jobs_finished",
            "Jobs that reached a terminal state here",
            ["state"],
            registry=self.registry,
        )
        self.log_lines_written = Counter(
            "batch_log_lines_written", "Log lines the scheduler wrote", registry=self.registry
        )
        self.tick_seconds = Histogram(
            "batch_scheduler_tick_seconds",
            "One scheduler tick, from queueing for the database writer to its commit",
            buckets=TICK_BUCKETS,
            registry=self.registry,
        )
        self.log_followers = Gauge(
            "batch_log_followers", "Live log followers (follow=true) connected now", registry=self.registry
        )
        self.rate_limit_buckets = Gauge(
            "batch_rate_limit_buckets",
            "Rate-limit buckets held: one per caller active within a refill period",
            registry=self.registry,
        )

    def render(self, counts: dict[JobState, int]) -> bytes:
        for state, count in counts.items():
            self.jobs.labels(state=state.value).set(count)
        self.queue_depth.set(counts.get(JobState.QUEUED, 0))
        return generate_latest(self.registry)
