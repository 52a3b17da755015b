"""Where the connector finds the batch service, and how patient it is with it.

Read from `BATCH_*` environment variables, like the service's own settings, so one
`.env` can describe a whole deployment. Only the connector's names are read here;
the service's (`BATCH_API_KEYS`, `BATCH_DATABASE_URL`, …) are ignored.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConnectorSettings(BaseSettings):
    """Every knob of the connector. Built once per process, on first use."""

    model_config = SettingsConfigDict(env_prefix="BATCH_", extra="ignore")

    api_url: str = Field("http://127.0.0.1:8080", description="base URL of the batch API")
    public_url: str | None = Field(
        None,
        description="the service as a person's browser reaches it; set, a task's log link opens the "
        "dashboard's read-only page of its job instead of the API's log URL",
    )
    api_key: SecretStr | None = Field(
        None, description="connector-level key, used when a task names no `api_key` secret"
    )
    call_budget_seconds: float = Field(
        3.0,
        gt=0,
        le=600,
        description="longest any connector call (CreateTask, GetTask, …) waits on the batch API, "
        "every retry included: the platform gives each call a few seconds",
    )
    retry_attempts: int = Field(10, ge=1, le=100, description="tries per API call, the first included")
    retry_after_cap_seconds: float = Field(
        30.0, ge=0, description="longest `Retry-After` honored, so one reply cannot park a call"
    )
    outage_grace_seconds: float = Field(
        600.0,
        ge=0,
        description="a job the batch API does not answer about fails once its submission is longer "
        "ago than its own timeout plus this",
    )
    log_page_size: int = Field(100, ge=1, le=1000, description="log lines asked for per GetTaskLogs page")
    usage_page_size: int = Field(
        1000,
        ge=1,
        le=1000,
        description="resource-use samples asked for per page while serving GetTaskMetrics",
    )
