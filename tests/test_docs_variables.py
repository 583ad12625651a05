"""README.md and docs/*.md name only environment variables that exist: every one they name is one a
Roster ``Settings`` class reads, or one listed below with who reads it, and each listed one is used by
the repository. A renamed setting must not leave the documentation pointing at nothing. Also: the
checks of both this module and ``test_docs_truth.py`` (paths) catch what is not there.

Pure and fast: reads files and imports the settings classes; starts nothing.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from tests.doc_references import DOCUMENTS, ROOT, _exists, _sections, _tree, named_paths

SETTINGS_MODULES = sorted(
    {*ROOT.glob("services/*/config.py"), *ROOT.glob("*/config.py"), *ROOT.glob("*/settings.py")}
)
SERVICE_PREFIXES = ("USERS_", "SEATS_", "TEAMS_")  # `<SERVICE>_…` in the docs: each of the three services

# Variables the docs may name that no Roster Settings class reads. Each must occur in some file of the
# repository other than documentation (the place named), so this list cannot outlive what it excuses.
NOT_SETTINGS = {
    # Read or printed by Roster's own tooling rather than a service.
    "ROSTER_GATEWAY_URL": "the roster-admin CLI's --gateway-url (roster_cli/app.py)",
    "ROSTER_ADMIN_URL": "the roster-admin CLI's --url, the older name of --gateway-url",
    "ROSTER_ADMIN_TIMEOUT": "the roster-admin CLI's --timeout",
    "SCIM_BASE_URL": "printed by make run (devinfra/run.py)",
    "SCIM_TOKEN": "printed by make run and roster-admin",
    "TENANT_ID": "the shell variable a script sets from roster-admin tenant create",
    "ROSTER_CACHE_DIR": "where scripts/bootstrap.sh keeps the Kafka jars",
    "ROSTER_BASE_IMAGE": "the image builds' base (devinfra/images.py)",
    "ROSTER_APP_IMAGE": "image tags for docker-compose.yml (devinfra/images.py)",
    "ROSTER_KAFKA_IMAGE": "image tags for docker-compose.yml (devinfra/images.py)",
    "ROSTER_POSTGRES_IMAGE": "image tags for docker-compose.yml (devinfra/images.py)",
    # Make variables (Makefile).
    "PYTEST_ARGS": "make test",
    "RUN_ARGS": "make run",
    "ROSTER_PROPERTY_EXAMPLES": "services/users/tests/random_users.py",
    "ROSTER_CONSOLE_SCREENSHOTS": "tests/test_console_browser.py",
    "RECONCILE_USERS": "tests/test_enterprise_tenant_e2e.py (the 100,000-user benchmark)",
    # Fault injection for tests, off unless set (servicekit/faults.py).
    "ROSTER_FAULTS": "servicekit/faults.py",
    "BENCH_ARGS": "make bench",
    "LOOKUP_BENCH_ARGS": "make bench",
    "GROUP_BENCH_ARGS": "make bench",
    # docker-compose.yml's own variables.
    "ROSTER_GATEWAY_PORT": "docker-compose.yml",
    "ROSTER_POSTGRES_PASSWORD": "docker-compose.yml",
    "ROSTER_KAFKA_CLUSTER_ID": "docker-compose.yml",
    # The images' entrypoints and build arguments (containers/).
    "KAFKA_NODE_ID": "containers/kafka-entrypoint.sh",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "containers/kafka-entrypoint.sh",
    "KAFKA_CLUSTER_ID": "containers/kafka-entrypoint.sh",
    "KAFKA_ADVERTISED_HOST": "containers/kafka-entrypoint.sh",
    "KAFKA_HEAP": "containers/kafka-entrypoint.sh",
    "KAFKA_JVM_OPTS": "containers/kafka-entrypoint.sh",
    "KAFKA_REPLICATION_FACTOR": "containers/kafka-entrypoint.sh",
    "POSTGRES_PASSWORD": "containers/postgres-entrypoint.sh",
    "POSTGRES_PASSWORD_FILE": "containers/postgres-entrypoint.sh",
    "POSTGRES_USER": "containers/postgres-entrypoint.sh",
    "POSTGRES_MAX_CONNECTIONS": "containers/postgres-entrypoint.sh",
    "BASE_IMAGE": "the Containerfiles' build argument",
    # Other programs' variables that Roster's tooling sets or reads.
    "DOCKER_HOST": "Docker's; picks the engine (devinfra/containers.py)",
    "CONTAINERS_CONF": "podman's; set by devinfra/containers.py",
    "SCIM_CLI_HEADERS": "scim2-cli's; set by tests/test_conformance.py",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "OpenTelemetry's; turns traces on (servicekit/tracing.py)",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "OpenTelemetry's; turns traces on (servicekit/tracing.py)",
    "OTEL_SERVICE_NAME": "OpenTelemetry's; the traces' service name (servicekit/tracing.py)",
    "OTEL_BSP_SCHEDULE_DELAY": "OpenTelemetry's; set by tests/test_traces_e2e.py",
}
# Other programs' variables Roster never touches itself, so no file of ours names them.
FOREIGN = {
    "FORWARDED_ALLOW_IPS": "uvicorn's: the proxies whose X-Forwarded-* headers the gateway's server trusts",
    "OTEL_EXPORTER_OTLP_HEADERS": "OpenTelemetry's SDK: headers sent to the collector",
    "OTEL_TRACES_SAMPLER": "OpenTelemetry's SDK: which traces are kept",
    "OTEL_TRACES_SAMPLER_ARG": "OpenTelemetry's SDK: the sampler's argument",
    "OTEL_RESOURCE_ATTRIBUTES": "OpenTelemetry's SDK: attributes of every span's resource",
}
VARIABLE = re.compile(r"(?<![\w.])(<SERVICE>)?(_?[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b")


def named_variables(document: Path) -> Iterator[str]:
    """Every UPPER_SNAKE name: plain, ``<SERVICE>_X`` (one per service) or ``_X`` (a suffix of one)."""
    for template, name in VARIABLE.findall(document.read_text()):
        if template:
            yield from (prefix + name.lstrip("_") for prefix in SERVICE_PREFIXES)
        else:
            yield name


# What Roster reads


def _environment_names(settings: type[BaseSettings]) -> set[str]:
    """The variables pydantic-settings reads for a class: a field's alias(es), else prefix + name."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias or field.alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names.update(choice.upper() for choice in alias.choices if isinstance(choice, str))
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


@functools.cache
def settings_classes() -> tuple[type[BaseSettings], ...]:
    found: set[type[BaseSettings]] = set()
    for path in SETTINGS_MODULES:
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        found.update(
            value
            for value in vars(module).values()
            if inspect.isclass(value) and issubclass(value, BaseSettings) and value is not BaseSettings
        )
    # A base that others extend without a prefix of its own is never read as it stands.
    return tuple(
        cls
        for cls in found
        if cls.model_config.get("env_prefix")
        or not any(other is not cls and issubclass(other, cls) for other in found)
    )


@functools.cache
def setting_variables() -> frozenset[str]:
    return frozenset(name for cls in settings_classes() for name in _environment_names(cls))


@functools.cache
def setting_choices() -> frozenset[str]:
    """The values a setting with a fixed set of choices takes (`SASL_SSL` of `KAFKA_SECURITY_PROTOCOL`):
    the docs name them beside their variable, and they are values, not variables."""
    return frozenset(
        str(choice)
        for cls in settings_classes()
        for field in cls.model_fields.values()
        if typing.get_origin(field.annotation) is typing.Literal
        for choice in typing.get_args(field.annotation)
    )


@functools.cache
def code_constants() -> frozenset[str]:
    """UPPER_SNAKE names the Python code defines at module level (`DEFAULT_PAGE_SIZE = 100`): the docs
    cite some beside their module, and those are names of code, not of the environment."""
    files, _ = _tree()
    definition = re.compile(r"^([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\s*[:=]", re.MULTILINE)
    return frozenset(
        name
        for file in files
        if file.endswith(".py")
        for name in definition.findall((ROOT / file).read_text())
    )


def _known(name: str) -> bool:
    if name.startswith("_"):  # the rest of a `<SERVICE>_…` name: some setting ends with it
        return any(variable.endswith(name) for variable in setting_variables())
    known = setting_variables() | setting_choices() | code_constants()
    return name in known or name in NOT_SETTINGS or name in FOREIGN


# The checks


def test_the_documents_and_the_settings_are_found() -> None:
    assert ROOT / "docs" / "architecture.md" in DOCUMENTS and len(DOCUMENTS) >= 5
    names = setting_variables()
    assert {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "USERS_DATABASE_URL", "ROSTER_ADMIN_TOKEN"} <= names
    assert {"GATEWAY_REQUEST_TIMEOUT_SECONDS", "SEATS_MAX_DELIVERY_ATTEMPTS"} <= names
    assert "MAX_DELIVERY_ATTEMPTS" not in names  # the shared base is read only through a service's prefix


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_variable_named_is_read_by_roster_or_listed(document: Path) -> None:
    unknown = sorted({name for name in named_variables(document) if not _known(name)})
    assert not unknown, (
        f"neither a setting, nor in NOT_SETTINGS/FOREIGN, nor a constant of the code: {unknown}"
    )


@functools.cache
def _source_text() -> str:
    """Every file of the repository but the documentation and this test, as one text."""
    files, _ = _tree()
    texts = []
    for name in sorted(files):
        path = ROOT / name
        if path.suffix != ".md" and path != Path(__file__).resolve() and path.stat().st_size < 1_000_000:
            texts.append(path.read_text(errors="ignore"))
    return "\n".join(texts)


@pytest.mark.parametrize("name", sorted(NOT_SETTINGS))
def test_each_listed_variable_is_used_by_the_repository(name: str) -> None:
    assert re.search(rf"\b{name}\b", _source_text()), f"{name} ({NOT_SETTINGS[name]}) occurs nowhere"
    assert name not in setting_variables(), f"{name} is a setting: drop it from NOT_SETTINGS"


def test_the_checks_catch_what_is_not_there() -> None:
    assert _exists("services/gateway/owners.py") and _exists("devinfra/kafka/") and _exists("app.py")
    assert _exists("jars.py", under="devinfra/") and _exists("tests/test_scim_*_e2e.py")
    assert not _exists("services/gateway/translate.py") and not _exists("scim/", under="services/users/")
    assert not _exists("services/gateway/owners.py/") and not _exists("nowhere.py")
    assert _known("GATEWAY_MAX_PAGE_SIZE") and _known("_TOPIC_REPLICATION_FACTOR")
    assert not _known("GATEWAY_MAX_PAGE_SIZES") and not _known("ROSTER_DATABASE_URL")
    assert not _known("_TOPIC_REPLICATION")
    assert _known("SASL_SSL") and not _known("SASL_TLS")  # a choice of KAFKA_SECURITY_PROTOCOL
    readme = list(named_paths(ROOT / "README.md"))
    assert len(readme) > 50 and any(directory == "services/users/" for _, _, directory in readme)
    assert _sections(ROOT / "docs" / "architecture.md").keys() >= {"1", "2", "3", "4", "5"}
