"""`BatchJobMetadata`: what the platform keeps for a task between the connector's calls."""

from __future__ import annotations

from dataclasses import dataclass, field

from flyte.connectors import ResourceMeta


@dataclass
class BatchJobMetadata(ResourceMeta):
    """Ids and facts fixed at submission, JSON-encodable, no keys.

    `logs_token` is the job-scoped, read-only token from the create response: `get_logs`
    and `get_metrics` receive no secrets, so it is how they read the job. `output_names`
    are the task interface's outputs, because `get` no longer sees the task template.
    `submitted_at` (the service's `created_at`, epoch seconds) and `timeout_seconds` (as the
    service accepted it) fix the job's deadline, so every connector replica agrees when an
    unanswered job stops counting as running (see `outage.py`); they are None in metadata
    written before they existed.
    `caller_retries` says whether CreateTask named a task attempt (the platform does; the
    SDK's local loop does not): only such a caller gets RETRYABLE_FAILED for a job that
    failed for a transient reason (`phases.job_resource`).
    The service URL is deliberately not kept: the connector only ever sends keys to the
    service it is configured for, whatever a stored metadata blob says.
    """

    job_id: str
    logs_token: str
    output_names: list[str] = field(default_factory=list)
    submitted_at: float | None = None
    timeout_seconds: int | None = None
    caller_retries: bool = False
