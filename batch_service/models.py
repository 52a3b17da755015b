"""The job domain: states, the accepted spec, the tables, and the public shapes of the API."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON, BigInteger, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

MAX_LABELS = 32
# 64-bit everywhere, but SQLite only auto-increments a column declared exactly INTEGER.
ROWID = BigInteger().with_variant(Integer(), "sqlite")


class JobState(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.TIMED_OUT, JobState.CANCELLED})


class LogLevel(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


def _storable_json(value: Any, where: str = "value") -> Any:
    """Reject what JSON columns or JSON responses cannot hold: NaN/Infinity and NUL characters."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} holds a non-finite number (NaN or Infinity is not JSON)")
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _storable_json(item, where)
    elif isinstance(value, list):
        for item in value:
            _storable_json(item, where)
    return value


CleanStr = Annotated[str, AfterValidator(_no_nul)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_storable_json)]


class JobSpec(BaseModel):
    """What a client asks for. Unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")

    name: CleanStr = Field(min_length=1, max_length=200)
    inputs: JsonObject = Field(default_factory=dict)
    duration_seconds: float = Field(5, ge=0, le=86_400, allow_inf_nan=False)
    timeout_seconds: int = Field(300, ge=1, le=604_800)
    log_lines: int = Field(10, ge=0, le=1_000_000)
    fail_message: CleanStr | None = Field(None, min_length=1, max_length=10_000)
    outputs: JsonObject | None = None
    labels: dict[CleanStr, CleanStr] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _few_short_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        if len(labels) > MAX_LABELS:
            raise ValueError(f"at most {MAX_LABELS} labels")
        for key, value in labels.items():
            if not 1 <= len(key) <= 63 or ":" in key:
                raise ValueError("label keys are 1-63 characters without ':'")
            if len(value) > 255:
                raise ValueError("label values are at most 255 characters")
        return labels


class Job(SQLModel, table=True):
    """One submitted job. `pk` orders jobs by submission; `id` is what clients see."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
        Index("ix_jobs_owner_pk", "owner", "pk"),
        Index("ix_jobs_state_pk", "state", "pk"),
    )

    pk: int | None = SQLField(default=None, sa_column=Column(ROWID, primary_key=True, autoincrement=True))
    id: str = SQLField(max_length=40, unique=True)
    owner: str = SQLField(max_length=200)
    name: str = SQLField(max_length=200)
    state: str = SQLField(max_length=16)
    spec: dict[str, Any] = SQLField(sa_column=Column(JSON, nullable=False))
    outputs: dict[str, Any] | None = SQLField(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = None
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    log_line_count: int = 0
    idempotency_key: str | None = SQLField(default=None, max_length=255)
    spec_hash: str = SQLField(max_length=64)
    lease_owner: str | None = SQLField(default=None, max_length=64)
    lease_expires_at: float | None = None


class JobLabel(SQLModel, table=True):
    """Labels live in their own table so `label=k:v` filters are indexed on any database."""

    __tablename__ = "job_labels"
    __table_args__ = (Index("ix_job_labels_key_value", "key", "value", "job_pk"),)

    job_pk: int = SQLField(primary_key=True, foreign_key="jobs.pk", sa_type=BigInteger)
    key: str = SQLField(primary_key=True, max_length=63)
    value: str = SQLField(max_length=255)


class LogLine(SQLModel, table=True):
    """One line of a job's log; `(job_pk, seq)` is the key, so a line is never written twice."""

    __tablename__ = "log_lines"

    job_pk: int = SQLField(primary_key=True, foreign_key="jobs.pk", sa_type=BigInteger)
    seq: int = SQLField(primary_key=True)
    timestamp: float
    level: str = SQLField(max_length=8)
    message: str


class ServiceSecret(SQLModel, table=True):
    """Values all replicas must agree on, such as the generated logs-token signing key."""

    __tablename__ = "service_secrets"

    name: str = SQLField(primary_key=True, max_length=64)
    value: str


def rfc3339(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class JobPublic(BaseModel):
    """A job as the API shows it."""

    id: str
    name: str
    state: JobState
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    error: str | None
    spec: JobSpec
    labels: dict[str, str]
    created_at: str
    started_at: str | None
    finished_at: str | None
    log_line_count: int

    @classmethod
    def from_job(cls, job: Job) -> JobPublic:
        spec = JobSpec.model_validate(job.spec)
        return cls(
            id=job.id,
            name=job.name,
            state=JobState(job.state),
            inputs=spec.inputs,
            outputs=job.outputs,
            error=job.error,
            spec=spec,
            labels=spec.labels,
            created_at=rfc3339(job.created_at) or "",
            started_at=rfc3339(job.started_at),
            finished_at=rfc3339(job.finished_at),
            log_line_count=job.log_line_count,
        )


class JobCreated(JobPublic):
    """The create response: the only place the job's read-only logs token is shown."""

    logs_token: str


class JobList(BaseModel):
    jobs: list[JobPublic]
    next_page_token: str | None


class LogLinePublic(BaseModel):
    seq: int
    timestamp: str
    level: LogLevel
    message: str


class LogPage(BaseModel):
    lines: list[LogLinePublic]
    next_page_token: str | None
