"""Concord's settings: `CONCORD_*` environment variables and an optional `.env`, read only here."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.errors import InvalidInput

if TYPE_CHECKING:
    from activities.addresses import IPNetwork

# What checks a value given (a webhook network, a database URL, the log's key) is imported when
# one is given: HTTP, SQLAlchemy and cryptography are not what reading the settings costs.

ENV_PREFIX: Final = "CONCORD_"
DEFAULT_ORIGIN: Final = "concord.local/log"


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
    database_password_file: Path | None = Field(
        default=None,
        description="a file holding the event store's password (a Compose or Kubernetes "
        "secret), put into the database URL so the URL itself holds none",
    )
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = Field(default="default", min_length=1)
    task_queue: str = Field(default="concord-decisions", min_length=1)
    api_host: str = Field(default="127.0.0.1", min_length=1)
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_requests_per_second: float = Field(default=50.0, gt=0, le=100_000)
    api_burst: int = Field(default=100, ge=1, le=1_000_000)
    api_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="where the API serves its Prometheus metrics without a token (unset: at "
        "/metrics of the API's port, for operator and auditor tokens only)",
    )
    operator: str = Field(default_factory=_os_user, min_length=1)
    log_origin: str = Field(
        default=DEFAULT_ORIGIN,
        min_length=1,
        max_length=200,
        description="the transparency log's origin: its signing key's name once the key exists "
        "(a different value is refused), the name `concord audit keygen` gives a new key",
    )
    log_key_file: Path | None = Field(
        default=None, description="the log's signing key; defaults to <data_dir>/log.key"
    )
    portal_key_file: Path | None = Field(
        default=None,
        description="the key the portal's sign-in form is checked under, shared by every API "
        "replica; defaults to <data_dir>/portal.key, made on first use",
    )
    witness_policy_file: Path | None = Field(
        default=None,
        description="the log's witnesses (`witness <key> <url>` lines and `quorum <k>`): each "
        "published checkpoint is submitted to them, and the API serves it with their "
        "cosignatures (unset: no witnesses)",
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
    # Webhooks: where they may be sent, how many a principal has, the key their secrets are
    # sealed under (activities.addresses, store.webhook_secrets).
    webhook_allow_networks: str = Field(
        default="",
        description="networks (comma-separated CIDRs) webhooks may reach although they are "
        "loopback, private, link-local or reserved: an installation's own intranet",
    )
    webhook_limit_per_principal: int = Field(
        default=10, ge=1, le=10_000, description="webhooks in use a principal may have at most"
    )
    webhook_key_file: Path | None = Field(
        default=None,
        description="the key webhook signing secrets are sealed under, shared by the workers, "
        "the API and the CLI; defaults to <data_dir>/webhook.key, made on first use",
    )

    @field_validator("webhook_allow_networks")
    @classmethod
    def _webhook_allow_networks_are_cidrs(cls, value: str) -> str:
        if value:
            from activities.addresses import parse_networks

            parse_networks(value)
        return value

    @property
    def webhook_allowed_networks(self) -> tuple[IPNetwork, ...]:
        from activities.addresses import parse_networks

        return parse_networks(self.webhook_allow_networks)

    @property
    def webhook_secrets_key_file(self) -> Path:
        """Where the key webhook signing secrets are sealed under is (outside the database)."""
        return self.webhook_key_file or self.data_dir / "webhook.key"

    @field_validator("database_url")
    @classmethod
    def _database_url_names_a_supported_driver(cls, value: str) -> str:
        if not value:
            return value
        from store.urls import SUPPORTED_DRIVERS

        if not value.startswith(tuple(f"{driver}://" for driver in SUPPORTED_DRIVERS)):
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
        elif self.database_password_file is not None:
            object.__setattr__(
                self, "database_url", _with_password(self.database_url, self.database_password_file)
            )
        if self.log_key_file is None:
            object.__setattr__(self, "log_key_file", self.data_dir / "log.key")
        self._origin_is_the_keys_name()
        if self.portal_key_file is None:
            object.__setattr__(self, "portal_key_file", self.data_dir / "portal.key")
        return self

    def _origin_is_the_keys_name(self) -> None:
        """A checkpoint's origin is its key's name: the name is taken from the key, and an
        origin set to another name is refused, so no checkpoint is signed under two origins."""
        assert self.log_key_file is not None
        try:
            text = self.log_key_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8"
            raise _FieldError(
                "log_key_file", f"cannot read {self.log_key_file}: {reason}"
            ) from None
        from audit.note import parsed_private_key

        try:
            name, _ = parsed_private_key(text, field="log_key_file")
        except InvalidInput as error:
            raise _FieldError("log_key_file", f"{self.log_key_file}: {error.message}") from None
        if "log_origin" in self.model_fields_set and self.log_origin != name:
            raise _FieldError(
                "log_origin",
                f"is {self.log_origin!r}, but the log's key {self.log_key_file} is named "
                f"{name!r}: a checkpoint's origin is its key's name (unset it, or use that name)",
            )
        object.__setattr__(self, "log_origin", name)

    @property
    def signing_key_file(self) -> Path:
        """Where the log's signing key is (outside the database)."""
        assert self.log_key_file is not None
        return self.log_key_file

    @property
    def sessions_key_file(self) -> Path:
        """Where the portal's session key is (outside the database)."""
        assert self.portal_key_file is not None
        return self.portal_key_file


class _FieldError(ValueError):
    """A check across fields that failed on one of them, which the error names."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _unreadable(field: str, path: Path, error: OSError | UnicodeDecodeError) -> _FieldError:
    reason = error.strerror if isinstance(error, OSError) else "not UTF-8"
    return _FieldError(field, f"cannot read {path}: {reason}")


def _with_password(url: str, password_file: Path) -> str:
    """`url` with the password read from `password_file` (its one line, the newline left out);
    an error naming the file when it cannot be read or the URL has a password already."""
    from store.engine import url_with_password

    field = "database_password_file"
    try:
        password = password_file.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise _unreadable(field, password_file, error) from None
    if not password or "\n" in password:
        raise _FieldError(field, f"{password_file} must hold the password on one line")
    try:
        return url_with_password(url, password)
    except ValueError:
        raise _FieldError(
            field, "the database URL holds a password already: give it once"
        ) from None


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment and `.env`, with `overrides` (the CLI's flags) on top;
    InvalidInput naming the environment variable when a value is malformed."""
    try:
        return Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as error:
        first = error.errors()[0]
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, _FieldError):
            raise InvalidInput(f"{ENV_PREFIX}{cause.field.upper()}", str(cause)) from None
        name = str(first["loc"][0]) if first["loc"] else "settings"
        raise InvalidInput(f"{ENV_PREFIX}{name.upper()}", first["msg"]) from None
