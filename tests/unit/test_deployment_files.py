"""The production compose file and image hold together (no Docker engine here to start them)."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from runtime.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).parents[2]
# The Compose Specification's schema, vendored (see vendor/README.md): no download at test time.
COMPOSE_SPEC = Path(__file__).parent / "vendor" / "compose-spec.json"


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def _compose_spec_violations(document: dict[str, Any]) -> list[str]:
    """Every place where `document` breaks the Compose Specification, as `path: message`."""
    schema = json.loads(COMPOSE_SPEC.read_text())
    # The schema declares draft-07 by a URI jsonschema does not recognise: name the draft here.
    Draft7Validator.check_schema(schema)
    return sorted(
        f"{'/'.join(str(part) for part in error.absolute_path)}: {error.message}"
        for error in Draft7Validator(schema).iter_errors(document)
    )


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, written as a mapping or as a list of NAME=VALUE."""
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(entry.partition("=")[::2] for entry in environment)
    return {name: str(value) for name, value in environment.items()}


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
    known = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for variable in _environment(service):
            if variable.startswith(ENV_PREFIX):
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


def test_compose_file_follows_the_compose_specification() -> None:
    assert _compose_spec_violations(_compose()) == []


def _misspell_a_dependency_condition(document: dict[str, Any]) -> None:
    document["services"]["worker"]["depends_on"]["migrate"]["condition"] = (
        "service_completed_successfuly"
    )


def _give_a_service_an_unknown_key(document: dict[str, Any]) -> None:
    document["services"]["worker"]["replica"] = 4


def _write_a_port_as_a_mapping(document: dict[str, Any]) -> None:
    document["services"]["api"]["ports"] = [{"8000": 8000}]


def _add_an_unknown_top_level_key(document: dict[str, Any]) -> None:
    document["service"] = {}


@pytest.mark.parametrize(
    ("breakage", "where"),
    [
        (_misspell_a_dependency_condition, "services/worker/depends_on"),
        (_give_a_service_an_unknown_key, "services/worker"),
        (_write_a_port_as_a_mapping, "services/api/ports/0"),
        (_add_an_unknown_top_level_key, ""),
    ],
)
def test_the_compose_specification_rejects_a_broken_copy_of_the_compose_file(
    breakage: Callable[[dict[str, Any]], None], where: str
) -> None:
    document = copy.deepcopy(_compose())
    breakage(document)
    violations = _compose_spec_violations(document)
    assert violations, f"{breakage.__name__} went unnoticed"
    assert all(violation.startswith(f"{where}: ") for violation in violations), violations


def test_api_replicas_scale_each_on_a_host_port_of_its_own() -> None:
    api = _compose()["services"]["api"]
    [published] = api["ports"]
    hosts, _, container = published.rpartition(":")
    first, _, last = hosts.partition("-")
    assert container == api["environment"]["CONCORD_API_PORT"]
    assert int(last) - int(first) >= 3, "a range of host ports, one per replica"
    assert "container_name" not in api and "replicas" not in api.get("deploy", {})


def _stages() -> list[list[str]]:
    """The Dockerfile's stages, each a list of its instructions (continued lines joined)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    stages: list[list[str]] = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_the_image_runs_as_its_own_user_with_the_venv_and_no_build_tools() -> None:
    *builders, final = _stages()
    assert builders, "the environment is built in a stage of its own"
    assert any("python -m venv /opt/venv" in line for line in builders[0])
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert not any(line.upper().startswith("RUN") and "pip install" in line for line in final)
    assert not any("apt-get" in line or "gcc" in line for line in final)
    [user] = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert user not in ("root", "0")
    assert any("useradd" in line and user in line for line in final)
    assert final[-1] == 'CMD ["python", "worker.py"]'
    commands = {tuple(s.get("command", ())) for s in _compose()["services"].values()}
    assert ("python", "worker.py") in commands and ("concord", "api") in commands
