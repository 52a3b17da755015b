"""The job domain: states, the accepted spec, the tables, and the public shapes of the API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from sqlalchemy import JSON, BigInteger, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from batch_service.limits import MAX_BATCH_JOBS
from batch_service.scenario import Scenario, spec_clashes
from batch_service.spec_limits import MAX_JSON_BYTES, MAX_JSON_DEPTH, check_json_document
from batch_service.usage import UsageProfile

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
ACTIVE_STATES = frozenset(JobState) - TERMINAL_STATES  # QUEUED and RUNNING: a cancel still applies


class LogLevel(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


# Text columns on PostgreSQL cannot hold NUL; saying so in the schema lets clients know.
NO_NUL = r"^[^\x00]*$"
JSON_LIMITS = f"A JSON object at most {MAX_JSON_DEPTH} levels deep and {MAX_JSON_BYTES:,} bytes long"
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json_document)]
FailMessage = Annotated[str, StringConstraints(min_length=1, max_length=10_000, pattern=NO_NUL)]
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=r"^[^:\x00]+$")]
LabelValue = Annotated[str, StringConstraints(max_length=255, pattern=NO_NUL)]


class JobSpec(BaseModel):
    """What a client asks for. Unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", strict=True)  # strict: `"log_lines": false` is not 0

    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    inputs: JsonObject = Field(default_factory=dict, description=JSON_LIMITS)
    duration_seconds: float = Field(5, ge=0, le=86_400, allow_inf_nan=False)
    timeout_seconds: int = Field(300, ge=1, le=604_800)
    log_lines: int = Field(10, ge=0, le=1_000_000)
    fail_message: FailMessage | None = None
    outputs: JsonObject | None = Field(None, description=JSON_LIMITS)
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict,
        max_length=MAX_LABELS,
        json_schema_extra={"propertyNames": {"minLength": 1, "maxLength": 63, "pattern": r"^[^:\x00]+$"}},
    )
    scenario: Scenario | None = Field(
        None,
        exclude_if=lambda scenario: scenario is None,  # specs without one keep their stored JSON and hash
        description="How the job behaves in a test (docs/testing.md#scenarios); only a service in test mode "
        "(BATCH_TEST_MODE) accepts one",
    )
    usage: UsageProfile | None = Field(
        None,
        exclude_if=lambda usage: usage is None,  # specs without one keep their stored JSON and hash
        description="shapes the simulated CPU and memory use served at /v1/jobs/{id}/usage",
    )

    @model_validator(mode="after")
    def _scenario_fits_the_spec(self, info: ValidationInfo) -> JobSpec:
        if self.scenario is not None and not (info.context or {}).get(STORED):
            clashes = spec_clashes(
                self.scenario,
                duration_seconds=self.duration_seconds,
                duration_given="duration_seconds" in self.model_fields_set,
                timeout_seconds=self.timeout_seconds,
                fail_message=self.fail_message,
                log_lines=self.log_lines,
            )
            if clashes:
                raise ValueError("; ".join(clashes))
        return self


STORED = "stored"


def stored_spec(raw: Mapping[str, Any]) -> JobSpec:
    """A spec read back from the database. It was checked when accepted; its JSON holds enums
    as strings and every default as if given, so it is rebuilt leniently."""
    return JobSpec.model_validate(raw, strict=False, context={STORED: True})


class Job(SQLModel, table=True):
    """One submitted job. `pk` orders jobs by submission; `id` is what clients see."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
        Index("ix_jobs_owner_pk", "owner", "pk"),
        Index("ix_jobs_state_pk", "state", "pk"),
        Index("ix_jobs_state_owner_pk", "state", "owner", "pk"),  # fair claiming: owners waiting
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
    # What a scenario needs (batch_service/scenario.py): calls about the job counted for its
    # polls and faults, the earliest start, and whether its failure was transient.
    get_calls: int = 0
    log_calls: int = 0
    cancel_calls: int = 0
    not_before: float | None = None
    retryable: bool = False


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


class ReplicaHeartbeat(SQLModel, table=True):
    """One row per running service process: `/readyz` proves the database is the one this
    process started on (its row is there) and that it takes writes (it updates the row)."""

    __tablename__ = "replica_heartbeats"

    replica: str = SQLField(primary_key=True, max_length=64)
    started_at: float
    beat_at: float


def rfc3339(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class ErrorBody(BaseModel):
    """Every error: FastAPI's shape, `detail` saying what is wrong (a list for 422s)."""

    detail: str | list[dict[str, Any]]


class JobPublic(BaseModel):
    """A job as the API shows it. The handlers build this shape with `job_document` (no
    re-validation of stored rows); this model documents it in OpenAPI, where schemathesis
    checks every response against it."""

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
    retryable: bool = Field(
        description="true when the job FAILED for a transient reason (the machine was lost): running it "
        "again may succeed"
    )


class JobCreated(JobPublic):
    """The create response: the only place the job's read-only logs token is shown."""

    logs_token: str


class JobBatch(BaseModel):
    """The body of `POST /v1/jobs:batch`: job specs to create together, all or none."""

    model_config = ConfigDict(extra="forbid", strict=True)

    jobs: list[JobSpec] = Field(min_length=1, max_length=MAX_BATCH_JOBS)


class JobBatchCreated(BaseModel):
    """The batch's jobs in the order of its specs, each with its logs token."""

    jobs: list[JobCreated]


class JobSummary(BaseModel):
    """A job in a list: what a table of jobs shows. Inputs, outputs, the spec and the error
    are on `GET /v1/jobs/{id}`, so what jobs carry never weighs on a page."""

    id: str
    name: str
    state: JobState
    labels: dict[str, str]
    created_at: str
    started_at: str | None
    finished_at: str | None
    log_line_count: int


class JobList(BaseModel):
    jobs: list[JobSummary]
    next_page_token: str | None


JobRecord = Mapping[str, Any]  # a row of the jobs table, by column name


def job_document(job: JobRecord, *, logs_token: str | None = None) -> dict[str, Any]:
    """The public JSON of a stored job (`JobPublic`, or `JobCreated` with its logs token)."""
    spec = job["spec"]
    document = {
        "id": job["id"],
        "name": job["name"],
        "state": job["state"],
        "inputs": spec["inputs"],
        "outputs": job["outputs"],
        "error": job["error"],
        "spec": spec,
        "labels": spec["labels"],
        "created_at": rfc3339(job["created_at"]),
        "started_at": rfc3339(job["started_at"]),
        "finished_at": rfc3339(job["finished_at"]),
        "log_line_count": job["log_line_count"],
        "retryable": job["retryable"],
    }
    if logs_token is not None:
        document["logs_token"] = logs_token
    return document


def job_summary_document(job: JobRecord) -> dict[str, Any]:
    """The public JSON (`JobSummary`) of a row from `store.jobs.list_jobs`."""
    return {
        "id": job["id"],
        "name": job["name"],
        "state": job["state"],
        "labels": job["labels"],
        "created_at": rfc3339(job["created_at"]),
        "started_at": rfc3339(job["started_at"]),
        "finished_at": rfc3339(job["finished_at"]),
        "log_line_count": job["log_line_count"],
    }


class LogLinePublic(BaseModel):
    seq: int
    timestamp: str
    level: LogLevel
    message: str


class LogPage(BaseModel):
    lines: list[LogLinePublic]
    next_page_token: str | None
