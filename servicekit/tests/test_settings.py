"""Service settings fail fast on a bad broker list and hand every Kafka client a list; values come
from the environment, else from secret files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.engine import make_url

from servicekit.settings import ServiceSettings
from services.gateway.config import GatewaySettings
from services.users.config import UsersSettings


@pytest.mark.parametrize(
    ("configured", "servers"),
    [
        ("127.0.0.1:9092", ["127.0.0.1:9092"]),
        ("host1:9092,host2:9092,host3:9092", ["host1:9092", "host2:9092", "host3:9092"]),
        (" host1:9092 , host2:9093", ["host1:9092", "host2:9093"]),
        ("kafka", ["kafka"]),  # the clients' default port
    ],
)
def test_the_bootstrap_servers_are_a_list_of_brokers(configured: str, servers: list[str]) -> None:
    settings = ServiceSettings(service_name="s", kafka_bootstrap_servers=configured)
    assert settings.kafka_servers == servers


@pytest.mark.parametrize(
    "configured", ["", " ", "host1:9092,,host2:9092", "host1:9092,", "host:port", ":9092"]
)
def test_a_malformed_broker_list_fails_at_start_up(configured: str) -> None:
    with pytest.raises(ValidationError, match="host:port entries separated by commas"):
        ServiceSettings(service_name="s", kafka_bootstrap_servers=configured)


# Secret files (ROSTER_SECRETS_DIR)


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir()
    monkeypatch.setenv("ROSTER_SECRETS_DIR", str(directory))
    for variable in ("ROSTER_ADMIN_TOKEN", "DATABASE_URL", "DATABASE_PASSWORD", "USERS_DATABASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    return directory


def test_a_secret_file_provides_a_value_the_environment_lacks(secrets: Path) -> None:
    (secrets / "ROSTER_ADMIN_TOKEN").write_text("t" * 40 + "\n")  # as `echo … >` writes it
    (secrets / "database_url").write_text("postgresql://roster:from-file@db:5432/roster")
    gateway = GatewaySettings()
    assert gateway.admin_token.get_secret_value() == "t" * 40
    assert gateway.resolved_database_url() == "postgresql://roster:from-file@db:5432/roster_gateway"
    assert UsersSettings().resolved_database_url() == "postgresql://roster:from-file@db:5432/roster_users"


def test_the_environment_wins_over_a_secret_file(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (secrets / "ROSTER_ADMIN_TOKEN").write_text("f" * 40)
    monkeypatch.setenv("ROSTER_ADMIN_TOKEN", "e" * 40)
    assert GatewaySettings().admin_token.get_secret_value() == "e" * 40


def test_a_password_file_replaces_the_password_in_the_database_url(
    secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://roster@db:5432/roster")
    (secrets / "DATABASE_PASSWORD").write_text("s3cret/with:odd@chars\n")
    url = make_url(UsersSettings().resolved_database_url())
    assert (url.username, url.password, url.database) == ("roster", "s3cret/with:odd@chars", "roster_users")
    # A service's own URL (maybe another server) takes its own password only.
    monkeypatch.setenv("USERS_DATABASE_URL", "postgresql://users@other:5432/people")
    assert make_url(UsersSettings().resolved_database_url()).password is None
    (secrets / "USERS_DATABASE_PASSWORD").write_text("own")
    assert make_url(UsersSettings().resolved_database_url()).password == "own"


def test_no_secrets_directory_reads_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROSTER_SECRETS_DIR", raising=False)
    monkeypatch.delenv("ROSTER_ADMIN_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ROSTER_ADMIN_TOKEN").write_text("x" * 40)
    with pytest.raises(ValidationError, match="ROSTER_ADMIN_TOKEN"):
        GatewaySettings()


def test_a_named_secrets_directory_that_is_missing_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROSTER_SECRETS_DIR", str(tmp_path / "not-mounted"))
    with pytest.raises(SettingsError, match=r"ROSTER_SECRETS_DIR=.*not-mounted is not a directory"):
        UsersSettings()
