"""Every knob of the service, read once from `BATCH_*` environment variables (or CLI flags)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, CliSettingsSource, SettingsConfigDict

from batch_service.auth import ApiKey, hash_key, parse_api_keys

# `--help` names each flag's value after its setting (argparse's own convention), instead of
# the Python type pydantic-settings would print (`SecretStr`, `{SecretStr,null}`).
CLI_METAVARS = {"api_keys": "OWNER:KEY[,OWNER:KEY...]", "database_url": "URL"}


class Settings(BaseSettings):
    # hide_input_in_errors: a bad BATCH_API_KEYS must never be echoed back in an error.
    model_config = SettingsConfigDict(
        env_prefix="BATCH_",
        extra="ignore",
        cli_kebab_case=True,
        cli_implicit_flags=True,  # --allow-anonymous / --no-allow-anonymous, not "bool"
        hide_input_in_errors=True,
    )

    database_url: str = Field(
        "sqlite:///./batch.db", description="SQLite file (WAL) or postgresql+psycopg://"
    )
    api_keys: SecretStr = Field(SecretStr(""), description="owner:key,owner:key (required)")
    allow_anonymous: bool = Field(False, description="no key needed, owner 'anonymous' (local use only)")
    database_connect_timeout: int = Field(
        5, ge=2, le=300, description="seconds to wait for a PostgreSQL connection (whole seconds, at least 2)"
    )
    database_statement_timeout: float = Field(
        10, gt=0, le=3600, description="longest one PostgreSQL statement may take; past it the call fails"
    )
    max_running: int = Field(8, ge=1, le=100_000, description="jobs running at once (per replica)")
    max_running_per_owner: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="jobs of one owner running at once (per replica); default: max_running",
    )
    log_lines_per_tick: int = Field(
        50_000,
        ge=100,
        le=1_000_000,
        description="log lines one scheduler tick writes, shared fairly by owners",
    )
    rate_limit: float = Field(0, ge=0, description="requests per second per key; 0 = off")
    fault_rate: float = Field(0, ge=0, le=1, description="share of /v1 requests answered 503")
    secret_key: SecretStr | None = Field(None, description="signs logs tokens; generated and stored if unset")
    host: str = Field("127.0.0.1", description="listen address")
    port: int = Field(8080, ge=0, le=65535, description="listen port")
    tick_seconds: float = Field(0.1, gt=0, le=10, description="scheduler period")
    lease_seconds: float = Field(15, gt=0, description="how long a replica's claim on a job lasts unrenewed")
    log_level: str = Field("info", description="uvicorn/service log level")
    admin_keys: SecretStr = Field(
        SecretStr(""), description="key,key: keys of the admin API (/admin/v1); none = no admin API"
    )
    test_mode: bool = Field(False, description="accept job scenarios and the admin API's test clock")
    journal_size: int = Field(1000, ge=1, le=100_000, description="API calls the admin journal keeps")
    max_followers_per_job: int = Field(
        10, ge=1, description="live log followers (follow=true) of one job at once, per replica"
    )
    max_followers_per_owner: int = Field(
        20, ge=1, description="live log followers of one owner's jobs at once, per replica"
    )
    max_connections: int = Field(
        1000, ge=1, description="open HTTP connections; more are answered 503 and closed"
    )
    read_timeout_seconds: float = Field(
        10, gt=0, description="time a client has to send a whole request (headers and body)"
    )

    _api_keys: tuple[ApiKey, ...] = PrivateAttr(default=())

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql")):
            raise ValueError("BATCH_DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        return url

    @model_validator(mode="after")
    def _keys_or_anonymous(self) -> Settings:
        self._api_keys = parse_api_keys(self.api_keys.get_secret_value())
        if not self._api_keys and not self.allow_anonymous:
            raise ValueError(
                "no API keys: set BATCH_API_KEYS=owner:key[,owner:key...] "
                "or, for throwaway local use only, BATCH_ALLOW_ANONYMOUS=true"
            )
        return self

    @model_validator(mode="after")
    def _admin_keys_are_not_owner_keys(self) -> Settings:
        admin = {
            hash_key(key.strip()) for key in self.admin_keys.get_secret_value().split(",") if key.strip()
        }
        if admin & {key.key_hash for key in self.parsed_api_keys}:
            raise ValueError(
                "a key in BATCH_ADMIN_KEYS is also an owner's key in BATCH_API_KEYS; use another"
            )
        return self

    @property
    def parsed_api_keys(self) -> tuple[ApiKey, ...]:
        """The owners and key digests of `api_keys`, parsed once when the settings loaded."""
        return self._api_keys


def _add_argument(parser: ArgumentParser, *names: str, **options: Any) -> Any:
    if options.get("metavar") is not None:
        options["metavar"] = CLI_METAVARS.get(options["dest"], options["dest"].upper())
    return parser.add_argument(*names, **options)


def cli_settings_source(prog: str) -> CliSettingsSource[Settings]:
    """The `batch-service` flags: one per setting, value names readable in `--help`."""
    return CliSettingsSource(Settings, cli_prog_name=prog, add_argument_method=_add_argument)
