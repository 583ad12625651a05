"""Roster on a Kafka that only speaks SASL_SSL with SCRAM-SHA-512: the users, seats and teams services
and the gateway run against it as real processes (every producer, consumer and admin client over TLS,
authenticated, the password read from a secret file), Okta's create flow goes through, and a process
given the wrong password stops within seconds saying the authentication failed."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devinfra.kafka import LocalKafka
from devinfra.kafka.secured import MECHANISM, SecuredListener
from devinfra.ports import free_ports
from devinfra.processes import ManagedProcess
from devinfra.tls import make_server_certificate
from tests import okta
from tests.stack import Stack, create_tenant, own_stack

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

KAFKA_USER = "roster"
FAIL_FAST_SECONDS = 60.0  # a Python start on a busy machine included; a hang never ends


@dataclass
class SecuredKafka:
    bootstrap: str
    env: dict[str, str]  # what a process needs to reach it, the password aside (a secret file)


@pytest.fixture(scope="module")
def secured_kafka() -> Iterator[SecuredKafka]:
    root = Path(tempfile.mkdtemp(prefix="roster-secured-kafka-"))
    certificate = make_server_certificate(root / "tls")
    password = secrets.token_urlsafe(24)
    listener = SecuredListener(
        port=free_ports(1)[0], keystore=certificate.key_and_chain_file, users={KAFKA_USER: password}
    )
    broker = LocalKafka(root / "data", secured=listener)
    broker.start()
    secret_files = root / "secrets"
    secret_files.mkdir()
    (secret_files / "KAFKA_SASL_PASSWORD").write_text(password + "\n")
    env = {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": MECHANISM,
        "KAFKA_SASL_USERNAME": KAFKA_USER,
        "KAFKA_SSL_CAFILE": str(certificate.ca_file),
        "ROSTER_SECRETS_DIR": str(secret_files),
    }
    try:
        yield SecuredKafka(bootstrap=listener.bootstrap_servers, env=env)
    finally:
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def secured_stack(secured_kafka: SecuredKafka) -> Iterator[Stack]:
    with own_stack(
        "roster-secured-stack-",
        kafka_bootstrap=secured_kafka.bootstrap,
        services=["users", "seats", "teams"],
        env=secured_kafka.env,
    ) as stack:
        yield stack


def test_okta_creates_a_user_through_every_process_over_sasl_ssl(secured_stack: Stack) -> None:
    with secured_stack.admin() as admin:
        tenant = create_tenant(admin, "secured")
    user_name = "ada@example.com"
    with httpx.Client(base_url=secured_stack.base_url, headers=tenant.auth, timeout=30) as scim:
        lookup = scim.get("/Users", params=okta.filter_params(user_name))
        assert lookup.status_code == 200 and lookup.json()["totalResults"] == 0, lookup.text
        created = scim.post("/Users", json=okta.user_body(user_name))
        assert created.status_code == 201, created.text  # the seats service reserved its seat
        found = scim.get("/Users", params=okta.filter_params(user_name)).json()
        assert [user["id"] for user in found["Resources"]] == [created.json()["id"]]
    for readiness in secured_stack.readiness_urls.values():
        checks = httpx.get(readiness, timeout=10).json()["checks"]
        assert checks["kafka"]["ok"] and checks["consumers"]["ok"], checks


def test_a_wrong_password_stops_each_process_saying_authentication_failed(
    secured_stack: Stack, secured_kafka: SecuredKafka
) -> None:
    started = {module: _start_with_wrong_password(secured_stack, secured_kafka, module) for module in MODULES}
    try:
        deadline = time.monotonic() + FAIL_FAST_SECONDS
        while any(process.alive() for process in started.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        for process in started.values():
            assert not process.alive(), f"{process.name} still running:\n{process.log_tail()}"
            assert process.returncode != 0
            output = process.log_file.read_text()
            assert f"authentication failed for KAFKA_SASL_USERNAME={KAFKA_USER}" in output, process.log_tail()
            assert "Authentication failed during authentication due to invalid credentials" in output
    finally:
        for process in started.values():
            process.kill()


MODULES = ("services.users", "services.gateway")


def _start_with_wrong_password(stack: Stack, kafka: SecuredKafka, module: str) -> ManagedProcess:
    name = f"wrong-password-{module.rsplit('.', 1)[-1]}"
    env = stack.env(
        **kafka.env,
        KAFKA_SASL_PASSWORD="not-the-password",  # the environment wins over the secret file
        USERS_DATABASE_URL=f"sqlite:///{stack.state_dir / f'{name}.db'}",
        GATEWAY_PORT=str(free_ports(1)[0]),
    )
    log = stack.state_dir / "logs" / f"{name}.log"
    return ManagedProcess.python_module(name, module, env=env, log_file=log).start()
