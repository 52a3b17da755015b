"""Every knob of the service, read once from `BATCH_*` environment variables (or CLI flags)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class ApiKey:
    """An owner and the SHA-256 of its key: the key itself is dropped after loading."""

    owner: str
    key_hash: bytes


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def parse_api_keys(raw: str) -> tuple[ApiKey, ...]:
    """Parse `owner:key,owner:key`; the error names the bad entry's position, never its key."""
    keys: list[ApiKey] = []
    for position, entry in enumerate(filter(None, (part.strip() for part in raw.split(","))), start=1):
        owner, sep, key = entry.partition(":")
        if not sep or not owner.strip() or not key.strip():
            raise ValueError(f"BATCH_API_KEYS entry {position} is not of the form owner:key")
        keys.append(ApiKey(owner=owner.strip(), key_hash=hash_key(key.strip())))
    return tuple(keys)


class Settings(BaseSettings):
    # hide_input_in_errors: a bad BATCH_API_KEYS must never be echoed back in an error.
    model_config = SettingsConfigDict(
        env_prefix="BATCH_", extra="ignore", cli_kebab_case=True, hide_input_in_errors=True
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

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql")):
            raise ValueError("BATCH_DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        return url

    @model_validator(mode="after")
    def _keys_or_anonymous(self) -> Settings:
        keys = parse_api_keys(self.api_keys.get_secret_value())
        if not keys and not self.allow_anonymous:
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
        return parse_api_keys(self.api_keys.get_secret_value())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
