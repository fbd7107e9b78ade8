"""The production compose file and image hold together (no Docker engine here to start them)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from runtime.settings import ENV_PREFIX, Settings
from workflows.decision import SEARCH_ATTRIBUTES

ROOT = Path(__file__).parents[2]
# The Compose Specification's schema, vendored (see vendor/README.md): no download at test time.
COMPOSE_SPEC = Path(__file__).parent / "vendor" / "compose-spec.json"
# Where Compose mounts a service's secrets, and the host folder they come from (git-ignored).
SECRETS_MOUNT = "/run/secrets/"
SECRETS_SOURCE = "./secrets/"
# An environment variable named so holds a password or a key: only a secret's path may be written.
SECRET_NAME = re.compile("PASSWORD|PWD|SECRET|KEY")
# `${NAME:-default}`: a variable the operator may set, else the default; `$$`: a literal `$`.
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):-(?P<default>[^}]*)\}")


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def _as_deployed(text: str) -> str:
    """`text` as Compose reads it when the operator sets no variable: every default taken."""
    return INTERPOLATION.sub(lambda match: match["default"], text).replace("$$", "$")


def _strings(node: Any) -> list[str]:
    """Every string in a parsed YAML document, keys included."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in _strings(key) + _strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    return [node] if isinstance(node, str) else []


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


def _concord_services() -> dict[str, dict[str, Any]]:
    """The services that run Concord's own image."""
    services = _compose()["services"]
    return {name: s for name, s in services.items() if s["image"].startswith("concord:")}


def _published(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A service's published ports as (host address, host ports, container port), with every
    variable at its default; an empty address means every interface of the host."""
    published = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            host = _as_deployed(str(port.get("host_ip", "")))
            published.append((host, _as_deployed(str(port["published"])), str(port["target"])))
            continue
        *hosts, container = _as_deployed(str(port)).split(":")
        address = hosts[0] if len(hosts) == 2 else ""
        published.append((address, hosts[-1] if hosts else "", container.partition("/")[0]))
    return published


def _secrets_mounted(service: dict[str, Any]) -> dict[str, str]:
    """The secrets a service is given: the name it reads under /run/secrets/, and the name the
    compose file declares it by."""
    mounted = {}
    for entry in service.get("secrets", []):
        source = entry if isinstance(entry, str) else entry["source"]
        target = entry if isinstance(entry, str) else entry.get("target", source)
        mounted[target.removeprefix(SECRETS_MOUNT)] = source
    return mounted


def test_compose_runs_temporal_on_postgres_its_ui_the_event_store_and_workers() -> None:
    services = _compose()["services"]
    assert {"temporal", "temporal-db", "temporal-ui", "eventstore", "worker", "migrate"} <= set(
        services
    )
    assert services["temporal"]["environment"]["DB"].startswith("postgres")
    assert services["worker"]["command"] == ["python", "worker.py"]
    assert "ports" not in services["worker"], "workers scale horizontally: no fixed ports"


def test_the_read_models_are_projected_by_an_active_projector_and_a_standby() -> None:
    projector = _compose()["services"]["projector"]
    assert projector["command"] == ["concord", "project"]
    assert projector["deploy"]["replicas"] >= 2, "a standby takes over when the active one dies"
    # It tells people of notable events by starting workflows: it waits for Temporal's namespace.
    assert "temporal-namespace" in projector["depends_on"]
    assert projector["environment"]["CONCORD_TEMPORAL_ADDRESS"] == "temporal:7233"


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
    [(_, hosts, container)] = _published(api)
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
    name = user.partition(":")[0]  # a name, a uid, or uid:gid
    assert name not in ("root", "0")
    assert any("useradd" in line and name in line for line in final)
    assert final[-1] == 'CMD ["python", "worker.py"]'
    commands = {tuple(s.get("command", ())) for s in _compose()["services"].values()}
    assert ("python", "worker.py") in commands and ("concord", "api") in commands


def test_no_service_is_given_a_password_or_a_key_written_in_the_compose_file() -> None:
    for name, service in _compose()["services"].items():
        for variable, value in _environment(service).items():
            if SECRET_NAME.search(variable):
                assert value.startswith(SECRETS_MOUNT), f"{name}: {variable} is written inline"
            assert not re.search(r"://[^/@\s]+:[^/@\s]*@", value), (
                f"{name}: {variable} holds a password"
            )


def test_every_secret_a_service_reads_is_given_to_it_from_a_git_ignored_file() -> None:
    document = _compose()
    declared = document.get("secrets", {})
    assert declared, "passwords and keys come as Compose secrets"
    given = set()
    for name, service in document["services"].items():
        mounted = _secrets_mounted(service)
        text = _as_deployed(yaml.safe_dump(service))
        for secret in re.findall(re.escape(SECRETS_MOUNT) + r"([A-Za-z0-9._-]+)", text):
            assert secret in mounted, f"{name} reads {SECRETS_MOUNT}{secret}, not given to it"
        given |= set(mounted.values())
    assert given == set(declared), "every secret declared, and only those, is given"
    for source, secret in declared.items():
        assert secret["file"].startswith(SECRETS_SOURCE), f"{source} is not a file in secrets/"
    for ignore_file in (".gitignore", ".dockerignore"):
        ignored = (ROOT / ignore_file).read_text().split()
        assert {"secrets", "secrets/"} & set(ignored), f"{ignore_file} leaves secrets/ in"


def test_each_service_reads_its_database_password_and_keys_from_secrets() -> None:
    services = _compose()["services"]
    for name, service in _concord_services().items():
        environment = _environment(service)
        if "CONCORD_DATABASE_URL" in environment:
            password = environment.get("CONCORD_DATABASE_PASSWORD_FILE", "")
            assert password.startswith(SECRETS_MOUNT), f"{name} has no database password"
    for name, settings in {
        # Workers sign checkpoints and deliveries; the API serves checkpoints, keeps sessions
        # and seals the secrets of the webhooks it registers: one webhook key for both.
        "worker": ["CONCORD_LOG_KEY_FILE", "CONCORD_WEBHOOK_KEY_FILE"],
        "api": ["CONCORD_LOG_KEY_FILE", "CONCORD_PORTAL_KEY_FILE", "CONCORD_WEBHOOK_KEY_FILE"],
    }.items():
        for variable in settings:
            assert _environment(services[name]).get(variable, "").startswith(SECRETS_MOUNT)
    for database in ("temporal-db", "eventstore"):
        password = _environment(services[database]).get("POSTGRES_PASSWORD_FILE", "")
        assert password.startswith(SECRETS_MOUNT), database
    # Temporal's server takes its password from POSTGRES_PWD alone: read from the secret.
    temporal = services["temporal"]
    assert "POSTGRES_PWD" not in _environment(temporal)
    started = " ".join(temporal.get("entrypoint", []))
    assert re.search(r"POSTGRES_PWD=.*" + re.escape(SECRETS_MOUNT), _as_deployed(started))


def test_temporal_its_ui_and_every_other_port_are_published_on_loopback_by_default() -> None:
    services = _compose()["services"]
    assert [c for _, _, c in _published(services["temporal"])] == ["7233"]
    assert [c for _, _, c in _published(services["temporal-ui"])] == ["8080"]
    for name, service in services.items():
        for address, ports, _ in _published(service):
            assert address == "127.0.0.1", f"{name} publishes {ports} on every interface"


def test_every_image_is_pinned_to_an_exact_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for name, service in _compose()["services"].items():
        repository, _, tag = service["image"].rpartition(":")
        assert repository and "/" not in tag, f"{name} names no tag"
        if repository == "concord":
            assert tag == project["version"], f"{name} runs another Concord than pyproject's"
        elif repository == "postgres":  # PostgreSQL numbers its releases major.minor
            assert re.fullmatch(r"\d+\.\d+", tag), f"{name}: {tag} floats"
        else:
            assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{name}: {tag} floats"


def test_the_images_base_is_pinned_to_an_exact_python_release() -> None:
    bases = [line.split()[1] for stage in _stages() for line in stage if line.startswith("FROM ")]
    assert bases, "the Dockerfile names its base"
    for base in bases:
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base), f"{base} floats"


def test_every_long_running_service_restarts_and_reports_its_health() -> None:
    for name, service in _compose()["services"].items():
        assert "restart" in service, f"{name} says whether it runs once or keeps running"
        if service["restart"] == "no":
            continue
        assert service["restart"] in ("always", "unless-stopped"), name
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"
        metrics = _environment(service).get("CONCORD_METRICS_PORT")
        if metrics is not None:
            assert f"127.0.0.1:{metrics}/metrics" in " ".join(check["test"]), name


def test_concord_services_start_after_the_migration_and_stop_on_sigterm() -> None:
    for name, service in _concord_services().items():
        if name == "migrate" or "CONCORD_DATABASE_URL" not in _environment(service):
            continue
        migrated = service.get("depends_on", {}).get("migrate", {}).get("condition")
        assert migrated == "service_completed_successfully", f"{name} may start unmigrated"
        if service.get("restart") != "no":
            assert service.get("stop_signal") == "SIGTERM", name
            assert "stop_grace_period" in service, name


def _what_runs(service: dict[str, Any]) -> str:
    """A service's entrypoint and command, and the text of the files mounted for it."""
    configs = _compose().get("configs", {})
    mounted = [
        configs[entry["source"] if isinstance(entry, dict) else entry]
        for entry in service.get("configs", [])
    ]
    texts = [(ROOT / c["file"]).read_text() for c in mounted if "file" in c]
    return " ".join(_strings([service.get("entrypoint"), service.get("command"), *texts]))


def test_the_namespace_concord_uses_is_made_with_its_search_attributes_once() -> None:
    services = _compose()["services"]
    [maker] = [s for s in services.values() if "temporal operator" in _what_runs(s)]
    assert maker["restart"] == "no"
    words = _as_deployed(" ".join(_strings([maker.get("entrypoint"), maker.get("command")])))
    assert {key.name for key in SEARCH_ATTRIBUTES} <= set(words.split())
    namespaces = {
        _environment(s)["CONCORD_TEMPORAL_NAMESPACE"] for s in _concord_services().values()
    }
    assert namespaces == {_environment(maker)["TEMPORAL_NAMESPACE"]}


def test_every_variable_has_a_default_and_every_other_dollar_is_escaped() -> None:
    for text in _strings(_compose()):
        assert "$" not in INTERPOLATION.sub("", text).replace("$$", ""), text


def test_the_files_the_compose_file_mounts_exist_and_its_scripts_parse() -> None:
    for name, config in _compose().get("configs", {}).items():
        path = ROOT / config["file"]
        assert path.is_file(), f"{name}: {path} is missing"
        if path.suffix == ".sh":
            subprocess.run(["sh", "-n", str(path)], check=True)
