"""Settings from TIJARAT_* environment variables, with safe defaults for a laptop."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/tijarat.db"
DEVELOPMENT_OPERATOR_TOKEN = "development-operator-token"  # noqa: S105 - development only
DEVELOPMENT_SESSION_SECRET = "development-session-secret"  # noqa: S105 - development only


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIJARAT_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    # SQLite file (embedded default) or postgresql://user@host/db (psycopg 3 is used).
    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "INFO"
    log_json: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Group-commit workers per process. One measured fastest on two cores: more workers
    # split the same callers into smaller batches (docs/ledger.md). SQLite uses one.
    commit_workers: int = Field(default=1, ge=1, le=16)
    request_body_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # The switch: how long a payee participant has to accept a credit advice (Raast: 20 s).
    payee_timeout_s: int = Field(default=20, ge=1, le=3_600)
    # The alias directory: how long a donor has to answer a portability claim before it
    # completes by itself (Pix gives seven days), and how many Raast ID lookups a
    # participant may make a minute (misses count: they are what an enumeration makes).
    # Defaults are switch.model's CLAIM_RESOLUTION_S_DEFAULT and LOOKUPS_PER_MINUTE_DEFAULT.
    claim_resolution_s: int = Field(default=7 * 86_400, ge=60, le=90 * 86_400)
    alias_lookups_per_minute: int = Field(default=600, ge=1, le=1_000_000)
    # Bearer token for the operator API (/v1/ledger). A development default only: in
    # production it must be set, or the process refuses to start.
    operator_token: str | None = None
    # Participants whose credit advices are accepted at once, in process: the demo's Karachi
    # banks, so a served development hub settles payments to them. Never in production.
    simulated_participants: list[str] = Field(default_factory=list)
    # Signs the dashboard's session cookies. Like the operator token: a development default
    # only, required in production.
    session_secret: str | None = None

    @model_validator(mode="after")
    def _secrets(self) -> Settings:
        if self.operator_token is None:
            if self.environment == "production":
                raise ValueError("TIJARAT_OPERATOR_TOKEN must be set in production")
            self.operator_token = DEVELOPMENT_OPERATOR_TOKEN
        if self.simulated_participants and self.environment == "production":
            raise ValueError("TIJARAT_SIMULATED_PARTICIPANTS is for development and tests only")
        if self.session_secret is None:
            if self.environment == "production":
                raise ValueError("TIJARAT_SESSION_SECRET must be set in production")
            self.session_secret = DEVELOPMENT_SESSION_SECRET
        return self


def normalise_database_url(url: str) -> str:
    """postgresql:// -> postgresql+psycopg:// (psycopg 3); relative SQLite paths made absolute."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            absolute = Path(path).expanduser().resolve()
            absolute.parent.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{absolute}"
    if url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url
