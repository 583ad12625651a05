"""Service settings fail fast on a bad broker list and hand every Kafka client a list; values come
from the environment, else from secret files."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest
from faststream.security import SASLScram512
from sqlalchemy.engine import make_url

from devinfra.tls import make_server_certificate
from servicekit.kafka import client_options, client_security
from servicekit.settings import ServiceSettings
from servicekit.settings_base import BadSettings
from services.gateway.config import GatewaySettings
from services.teams.config import TeamsSettings
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
    with pytest.raises(BadSettings, match="host:port entries separated by commas"):
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
    with pytest.raises(BadSettings, match="ROSTER_ADMIN_TOKEN"):
        GatewaySettings()


def test_a_named_secrets_directory_that_is_missing_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROSTER_SECRETS_DIR", str(tmp_path / "not-mounted"))
    with pytest.raises(BadSettings, match=r"ROSTER_SECRETS_DIR=.*not-mounted is not a directory"):
        UsersSettings()


# Kafka security (KAFKA_SECURITY_PROTOCOL and its companions)


@pytest.fixture
def kafka_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for variable in ("PROTOCOL", "MECHANISM", "USERNAME", "PASSWORD", "CAFILE", "CERTFILE", "KEYFILE"):
        for name in (f"KAFKA_SECURITY_{variable}", f"KAFKA_SASL_{variable}", f"KAFKA_SSL_{variable}"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ROSTER_SECRETS_DIR", raising=False)
    return monkeypatch


def test_plaintext_is_the_default_and_adds_nothing_to_the_clients(kafka_env: pytest.MonkeyPatch) -> None:
    settings = ServiceSettings(service_name="s", kafka_bootstrap_servers="k1:9092,k2:9092")
    assert client_options(settings) == {"bootstrap_servers": ["k1:9092", "k2:9092"]}


def test_sasl_ssl_with_scram_reaches_every_client(
    kafka_env: pytest.MonkeyPatch, secrets: Path, tmp_path: Path
) -> None:
    certificate = make_server_certificate(tmp_path / "tls")
    kafka_env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    kafka_env.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    kafka_env.setenv("KAFKA_SASL_USERNAME", "roster")
    kafka_env.setenv("KAFKA_SSL_CAFILE", str(certificate.ca_file))
    (secrets / "kafka_sasl_password").write_text("from-a-file\n")
    options = client_options(UsersSettings())
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("roster", "from-a-file")
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert isinstance(client_security(UsersSettings()), SASLScram512)  # what the FastStream broker gets


def test_sasl_plaintext_sends_no_tls(kafka_env: pytest.MonkeyPatch) -> None:
    kafka_env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    kafka_env.setenv("KAFKA_SASL_MECHANISM", "PLAIN")
    kafka_env.setenv("KAFKA_SASL_USERNAME", "roster")
    kafka_env.setenv("KAFKA_SASL_PASSWORD", "pw")
    options = client_options(TeamsSettings())
    assert (options["security_protocol"], options["ssl_context"]) == ("SASL_PLAINTEXT", None)


def test_ssl_alone_checks_the_brokers_against_the_system_authorities(kafka_env: pytest.MonkeyPatch) -> None:
    kafka_env.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    options = client_options(UsersSettings())
    assert options["security_protocol"] == "SSL" and "sasl_mechanism" not in options
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "roster"},
            "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
        ),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/nowhere/ca.pem"}, "is not a readable file"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERTFILE": "/etc/hostname"}, "go together"),
        ({"KAFKA_SSL_CAFILE": "/etc/hostname"}, "needs KAFKA_SECURITY_PROTOCOL SSL or SASL_SSL"),
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' or 'SASL_SSL'"),
        ({"KAFKA_SASL_MECHANISM": "GSSAPI"}, "'PLAIN', 'SCRAM-SHA-256' or 'SCRAM-SHA-512'"),
    ],
)
def test_an_incomplete_kafka_security_fails_at_start_up(
    kafka_env: pytest.MonkeyPatch, environment: dict[str, str], message: str
) -> None:
    for name, value in environment.items():
        kafka_env.setenv(name, value)
    with pytest.raises(BadSettings, match=re.escape(message)):
        UsersSettings()


def test_a_bad_setting_is_named_and_its_value_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """A too-short admin token is a secret all the same: the refusal names the variables, not the values
    (pydantic's own message quotes the input)."""
    secret = "RealSecretAdminToken_31chars_xx"
    monkeypatch.setenv("ROSTER_ADMIN_TOKEN", secret)
    monkeypatch.setenv("GATEWAY_PORT", "99999")
    with pytest.raises(BadSettings) as refused:
        GatewaySettings()
    message = str(refused.value)
    assert "ROSTER_ADMIN_TOKEN: " in message and "GATEWAY_PORT: " in message
    assert secret not in message and "99999" not in message
    assert refused.value.code == message  # SystemExit: printed alone, exit status 1
    monkeypatch.setenv("GATEWAY_PORT", "8000")
    monkeypatch.setenv("ROSTER_ADMIN_TOKEN", "x" * 40)
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "kafka-password-1")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(BadSettings, match="KAFKA_SASL_USERNAME") as refused:
        GatewaySettings()
    assert "kafka-password-1" not in str(refused.value)
