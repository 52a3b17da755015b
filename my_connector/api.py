"""What the batch API says, as this connector reads it: the job resource, log pages, errors.

Written from the API contract (docs/api.md), not imported from the service, so the connector
works against any deployment of the API. Fields the service adds are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class BatchApiError(Exception):
    """The batch API refused a call, or answered something this client cannot read."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class JobNotFound(BatchApiError):
    """404: the job does not exist, or belongs to another owner (the API does not say which)."""


class BatchServiceUnavailable(BatchApiError):
    """The service kept failing transiently (connect errors, timeouts, 5xx, 429) past the retry bound."""


class UsageRequest(BaseModel):
    """The spec's `usage` shape. Typed so that numbers a task template carried as floats
    (protobuf `Struct` has no integers) go out as the integers the API wants."""

    model_config = ConfigDict(extra="forbid")

    cpu_cores: float | None = None
    memory_mib: int | None = None
    shape: str | None = None


class JobRequest(BaseModel):
    """The job spec `POST /v1/jobs` accepts. Unset fields are left out, so the service's defaults apply."""

    model_config = ConfigDict(extra="forbid")

    name: str
    inputs: dict[str, Any] = {}
    duration_seconds: float | None = None
    timeout_seconds: int | None = None
    log_lines: int | None = None
    fail_message: str | None = None
    outputs: dict[str, Any] | None = None
    labels: dict[str, str] = {}
    scenario: dict[str, Any] | None = None
    usage: UsageRequest | None = None

    @field_validator("scenario")
    @classmethod
    def _whole_numbers_as_integers(cls, scenario: dict[str, Any] | None) -> dict[str, Any] | None:
        """A task template's `custom` is a protobuf `Struct`, where every number is a float;
        the scenario's counts must reach the service as the integers they were."""
        return None if scenario is None else _integral_floats_as_ints(scenario)


def _integral_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    return value


class _AcceptedSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timeout_seconds: int


class BatchJob(BaseModel):
    """The part of the job resource the connector needs; new fields from the service are ignored."""

    model_config = ConfigDict(extra="ignore")

    id: str
    state: str
    outputs: dict[str, Any] | None = None
    error: str | None = None
    spec: _AcceptedSpec
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    log_line_count: int = 0
    retryable: bool = False  # FAILED for a transient reason (a lost machine): a retry may succeed


class SubmittedJob(BatchJob):
    """The create response (and its idempotent replay): the only place the logs token is shown."""

    logs_token: str


class LogEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    seq: int
    timestamp: datetime
    level: str
    message: str


class LogPage(BaseModel):
    """One page of a job's log. `next_page_token` is null only once the job is terminal and drained."""

    model_config = ConfigDict(extra="ignore")

    lines: list[LogEntry]
    next_page_token: str | None


class UsageSample(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timestamp: datetime
    cpu_cores: float
    memory_bytes: int


class UsagePage(BaseModel):
    """A page of a job's resource use; `next_page_token` is null only once the job is terminal and drained."""

    model_config = ConfigDict(extra="ignore")

    samples: list[UsageSample]
    next_page_token: str | None
