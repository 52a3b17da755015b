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
    api_key: SecretStr | None = Field(
        None, description="connector-level key, used when a task names no `api_key` secret"
    )
    connect_timeout_seconds: float = Field(5.0, gt=0, description="TCP connect timeout per request")
    request_timeout_seconds: float = Field(30.0, gt=0, description="read/write timeout per request")
    retry_attempts: int = Field(10, ge=1, le=100, description="tries per call, the first included")
    retry_timeout_seconds: float = Field(
        60.0, gt=0, description="give up retrying a call after this long, whatever the attempts left"
    )
    retry_after_cap_seconds: float = Field(
        30.0, ge=0, description="longest `Retry-After` honored, so one reply cannot park a call"
    )
    log_page_size: int = Field(100, ge=1, le=1000, description="log lines asked for per GetTaskLogs page")
