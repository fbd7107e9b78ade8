"""The production compose file and image hold together (no Docker engine here to start them)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from runtime.settings import Settings

ROOT = Path(__file__).parents[2]


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def test_compose_runs_temporal_on_postgres_its_ui_the_event_store_and_workers() -> None:
    services = _compose()["services"]
    assert {"temporal", "temporal-db", "temporal-ui", "eventstore", "worker", "migrate"} <= set(
        services
    )
    assert services["temporal"]["environment"]["DB"].startswith("postgres")
    assert services["worker"]["command"] == ["python", "worker.py"]
    assert "ports" not in services["worker"], "workers scale horizontally: no fixed ports"


def test_the_read_models_are_projected_by_one_service_of_their_own() -> None:
    services = _compose()["services"]
    assert services["projector"]["command"] == ["concord", "project"]
    assert services["projector"]["deploy"]["replicas"] == 1


def test_every_dependency_names_a_service_and_every_setting_is_one_concord_reads() -> None:
    services = _compose()["services"]
    known = {f"CONCORD_{name.upper()}" for name in Settings.model_fields}
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for variable in service.get("environment", {}):
            if variable.startswith("CONCORD_"):
                assert variable in known, f"{name} sets {variable}, which Concord ignores"
    url = services["worker"]["environment"]["CONCORD_DATABASE_URL"]
    assert Settings(database_url=url).database_url.startswith("postgresql+asyncpg://")


def test_the_image_copies_every_package_the_project_installs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [pattern.rstrip("*") for pattern in included]
    assert "api" in packages
    missing = [p for p in packages if f"COPY {p}/ {p}/" not in dockerfile]
    assert missing == []
