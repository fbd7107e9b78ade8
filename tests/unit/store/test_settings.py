"""Settings come from CONCORD_* variables with the design's defaults; bad values name them."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import InvalidInput
from runtime.settings import Settings, load_settings

VARIABLES = (
    "DATA_DIR",
    "DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TASK_QUEUE",
    "API_HOST",
    "API_PORT",
    "OPERATOR",
    "LOG_FORMAT",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(f"CONCORD_{name}", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's


def test_defaults_are_those_of_the_design(tmp_path: Path) -> None:
    settings = load_settings()

    assert settings.data_dir == Path("var")
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/var/concord.db"
    assert settings.temporal_address == "localhost:7233"
    assert settings.temporal_namespace == "default"
    assert settings.task_queue == "concord-decisions"
    assert (settings.api_host, settings.api_port) == ("127.0.0.1", 8000)
    assert settings.operator
    assert settings.log_format == "auto"


def test_the_database_follows_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_DATA_DIR", "/srv/concord")

    assert load_settings().database_url == "sqlite+aiosqlite:////srv/concord/concord.db"


def test_environment_variables_and_a_dotenv_file_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("CONCORD_OPERATOR=alice\nCONCORD_API_PORT=9000\n")
    monkeypatch.setenv("CONCORD_DATABASE_URL", "postgresql+asyncpg://concord@db/concord")
    monkeypatch.setenv("CONCORD_API_PORT", "8080")

    settings = load_settings()

    assert settings.operator == "alice"
    assert settings.api_port == 8080
    assert settings.database_url == "postgresql+asyncpg://concord@db/concord"


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_OPERATOR", "alice")

    assert load_settings(operator="bob", api_port=None).operator == "bob"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CONCORD_DATABASE_URL", "mysql://db/concord"),
        ("CONCORD_DATABASE_URL", "sqlite:///var/concord.db"),
        ("CONCORD_API_PORT", "0"),
        ("CONCORD_API_PORT", "70000"),
        ("CONCORD_API_PORT", "http"),
        ("CONCORD_TEMPORAL_ADDRESS", "localhost"),
        ("CONCORD_LOG_FORMAT", "xml"),
        ("CONCORD_TASK_QUEUE", ""),
    ],
)
def test_a_malformed_value_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(InvalidInput, match=rf"^{variable}: "):
        load_settings()


def test_settings_are_immutable() -> None:
    with pytest.raises(Exception, match="frozen"):
        Settings().api_port = 1  # type: ignore[misc]
