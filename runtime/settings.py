"""Concord's settings: `CONCORD_*` environment variables and an optional `.env`, read only here."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.errors import InvalidInput
from store.engine import SUPPORTED_DRIVERS

ENV_PREFIX: Final = "CONCORD_"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


class Settings(BaseSettings):
    """Where Concord keeps its data and which services it talks to (DESIGN.md section 6)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    data_dir: Path = Path("./var")
    database_url: str = Field(
        default="",
        description="the event store; defaults to sqlite+aiosqlite:///<data_dir>/concord.db",
    )
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = Field(default="default", min_length=1)
    task_queue: str = Field(default="concord-decisions", min_length=1)
    api_host: str = Field(default="127.0.0.1", min_length=1)
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_requests_per_second: float = Field(default=50.0, gt=0, le=100_000)
    api_burst: int = Field(default=100, ge=1, le=1_000_000)
    operator: str = Field(default_factory=_os_user, min_length=1)
    log_origin: str = Field(default="concord.local/log", min_length=1, max_length=200)
    log_key_file: Path | None = Field(
        default=None, description="the log's signing key; defaults to <data_dir>/log.key"
    )
    log_format: Literal["auto", "console", "json"] = "auto"
    checkpoint_interval_seconds: int = Field(
        default=300, ge=10, le=86_400, description="how often the log's checkpoint is published"
    )
    command_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="how long the CLI and the API wait for a command's receipt before they say "
        "it is not acknowledged (exit 5, 503)",
    )
    worker_max_concurrent_activities: int = Field(default=50, ge=1, le=10_000)
    worker_max_concurrent_workflow_tasks: int | None = Field(default=None, ge=2, le=10_000)
    worker_max_cached_workflows: int = Field(default=1000, ge=0, le=1_000_000)
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="where a worker or the projector serves its Prometheus metrics (none unset)",
    )

    @field_validator("database_url")
    @classmethod
    def _database_url_names_a_supported_driver(cls, value: str) -> str:
        if value and not value.startswith(tuple(f"{driver}://" for driver in SUPPORTED_DRIVERS)):
            raise ValueError(
                f"must start with {' or '.join(f'{d}://' for d in SUPPORTED_DRIVERS)}, "
                f"not {value.split('://')[0]!r}"
            )
        return value

    @field_validator("temporal_address")
    @classmethod
    def _temporal_address_is_host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"must be host:port with a port in 1..65535, not {value!r}")
        return value

    @model_validator(mode="after")
    def _database_defaults_to_a_file_in_the_data_dir(self) -> Settings:
        if not self.database_url:
            path = (self.data_dir / "concord.db").resolve()
            object.__setattr__(self, "database_url", f"sqlite+aiosqlite:///{path.as_posix()}")
        if self.log_key_file is None:
            object.__setattr__(self, "log_key_file", self.data_dir / "log.key")
        return self

    @property
    def signing_key_file(self) -> Path:
        """Where the log's signing key is (outside the database)."""
        assert self.log_key_file is not None
        return self.log_key_file


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment and `.env`, with `overrides` (the CLI's flags) on top;
    InvalidInput naming the environment variable when a value is malformed."""
    try:
        return Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        raise InvalidInput(f"{ENV_PREFIX}{name.upper()}", first["msg"]) from None
