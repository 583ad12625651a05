"""Roster on containers for tests, through testcontainers: Kafka (one node or a three-node quorum),
PostgreSQL and the users, seats, teams, activity and gateway services, on a private network. The tests
reach the gateway only on its port published on 127.0.0.1."""

from __future__ import annotations

import base64
import contextlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
from docker.models.containers import Container
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from devinfra.images import RosterImages
from servicekit.db import DatabaseUnreachable
from servicekit.kafka import KafkaUnreachable
from servicekit.process import REFUSALS
from tests.stack import Tenant, create_tenant

SERVICES = ("users", "seats", "teams", "activity")
_KAFKA_READY = "Kafka Server started"
_POSTGRES_READY = "database system is ready to accept connections"
_SERVICE_READY = "service started"
_START_TIMEOUT_SECONDS = 300.0  # a shared 2-core machine can take minutes to start a JVM quorum
_LOG_TAIL_CHARACTERS = 4000
_RESTARTS_AT_START = 3


class ContainerStartError(RuntimeError):
    """A container exited or did not become ready; the message carries its log tail."""


def _log_tail(container: DockerContainer) -> str:
    stdout, stderr = container.get_logs()
    return (stdout + stderr).decode(errors="replace")[-_LOG_TAIL_CHARACTERS:]


def wait_for_log(
    container: DockerContainer, text: str, *, occurrences: int = 1, timeout: float = _START_TIMEOUT_SECONDS
) -> None:
    """Until ``text`` shows ``occurrences`` times in the container's log (a restarted container keeps
    its earlier log); fails at once if the container stops."""
    wrapped = container.get_wrapped_container()
    deadline = time.monotonic() + timeout
    while True:
        stdout, stderr = container.get_logs()
        if (stdout + stderr).count(text.encode()) >= occurrences:
            return
        wrapped.reload()
        if wrapped.status not in ("created", "running"):
            raise ContainerStartError(
                f"{wrapped.name} {wrapped.status} before {text!r}:\n{_log_tail(container)}"
            )
        if time.monotonic() > deadline:
            raise ContainerStartError(f"{wrapped.name}: no {text!r} in {timeout} s:\n{_log_tail(container)}")
        time.sleep(0.5)


def wait_until_ready(
    container: DockerContainer, service: str, *, timeout: float = _START_TIMEOUT_SECONDS
) -> None:
    """Until the service's own readiness probe passes inside its container (``--health``: its database,
    Kafka, every consumer group joined, the relay). "service started" is logged before its consumer
    groups hold their partitions, and a request sent meanwhile waits for the join, past a short
    gateway timeout on a busy machine."""
    wrapped = container.get_wrapped_container()
    deadline = time.monotonic() + timeout
    while True:
        probe = container.exec(["python", "-m", f"services.{service}", "--health"])
        if probe.exit_code == 0:
            return
        wrapped.reload()
        if wrapped.status != "running" or time.monotonic() > deadline:
            said = probe.output.decode(errors="replace").strip()
            raise ContainerStartError(
                f"{service} {wrapped.status}, not ready in {timeout} s ({said}):\n{_log_tail(container)}"
            )
        time.sleep(0.5)


_UNREACHABLE_AT_START = {REFUSALS[DatabaseUnreachable], REFUSALS[KafkaUnreachable]}


def restarted_after_unreachable_dependency(container: DockerContainer, restarts_left: int) -> bool:
    """Start again a container that exited at start because it could not reach its database or Kafka
    (status 6 or 4), as compose's ``restart: unless-stopped`` does (docker-compose.yml). A service
    refuses such a start at once, by design (docs/operations.md, "Troubleshoot"); on a loaded host
    podman's network DNS has answered "Temporary failure in name resolution" for ``postgres`` and
    ``kafka-1`` seconds after they were up. Any other exit, or one too many, stays a failure."""
    wrapped = container.get_wrapped_container()
    wrapped.reload()
    exit_status = wrapped.attrs["State"]["ExitCode"]
    if wrapped.status != "exited" or exit_status not in _UNREACHABLE_AT_START or restarts_left <= 0:
        return False
    time.sleep(2.0 * (_RESTARTS_AT_START - restarts_left + 1))  # 2, 4, 6 s: past a passing DNS outage
    wrapped.start()
    return True


def wait_for_start(container: DockerContainer, text: str) -> None:
    """``wait_for_log(text)``, through the restarts ``restarted_after_unreachable_dependency`` allows."""
    for restarts_left in range(_RESTARTS_AT_START, -1, -1):
        try:
            wait_for_log(container, text)
            return
        except ContainerStartError:
            if not restarted_after_unreachable_dependency(container, restarts_left):
                raise


def _publish_on_loopback(container: DockerContainer, port: int) -> DockerContainer:
    # testcontainers types a binding as a host port only; the Docker API (and docker-py) also takes
    # (host ip, host port), and only loopback may be published on this machine.
    container.ports[f"{port}/tcp"] = ("127.0.0.1", None)  # type: ignore[assignment]
    return container


@dataclass
class RosterCluster:
    images: RosterImages
    brokers: int
    gateway_env: dict[str, str] = field(default_factory=dict)
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    network: Network = field(default_factory=Network)
    kafka: list[DockerContainer] = field(default_factory=list)
    postgres: DockerContainer | None = None
    services: dict[str, DockerContainer] = field(default_factory=dict)
    gateways: list[DockerContainer] = field(default_factory=list)
    _password: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    # ----------------------------------------------------------------------- start-up

    def start(self) -> None:
        self.network.create()
        self._start_infrastructure()
        for name in SERVICES:
            self.services[name] = self._app(f"services.{name}").start()
        for name in SERVICES:
            wait_for_start(self.services[name], _SERVICE_READY)
            wait_until_ready(self.services[name], name)
        self.start_gateway(**self.gateway_env)

    def _start_infrastructure(self) -> None:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=").replace("-", "A")
        voters = ",".join(f"{node}@kafka-{node}:9093" for node in range(1, self.brokers + 1))
        for node in range(1, self.brokers + 1):
            broker = (
                DockerContainer(self.images.kafka)
                .with_network(self.network)
                .with_network_aliases(f"kafka-{node}")
                .with_env("KAFKA_NODE_ID", str(node))
                .with_env("KAFKA_ADVERTISED_HOST", f"kafka-{node}")
                .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", voters)
                .with_env("KAFKA_CLUSTER_ID", cluster_id)
                .with_env("KAFKA_HEAP", "384m")
                # The client JIT only: less CPU to start three JVMs on two cores; tests run briefly.
                .with_env("KAFKA_JVM_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
            )
            self.kafka.append(broker.start())
        self.postgres = (
            DockerContainer(self.images.postgres)
            .with_network(self.network)
            .with_network_aliases("postgres")
            .with_env("POSTGRES_PASSWORD", self._password)
            .start()
        )
        wait_for_log(self.postgres, _POSTGRES_READY)
        for broker in self.kafka:
            wait_for_log(broker, _KAFKA_READY)

    def _app(self, module: str, **env: str) -> DockerContainer:
        replication = min(self.brokers, 3)
        container = (
            DockerContainer(self.images.app)
            .with_network(self.network)
            .with_command(["python", "-m", module])
            .with_env(
                "KAFKA_BOOTSTRAP_SERVERS", ",".join(f"kafka-{n}:9092" for n in range(1, self.brokers + 1))
            )
            .with_env("DATABASE_URL", f"postgresql+psycopg://roster:{self._password}@postgres:5432/roster")
            .with_env("ROSTER_ADMIN_TOKEN", self.admin_token)
        )
        prefix = module.rsplit(".", 1)[-1].upper()
        container.with_env(f"{prefix}_TOPIC_REPLICATION_FACTOR", str(replication))
        container.with_env(f"{prefix}_TOPIC_MIN_INSYNC_REPLICAS", str(max(1, replication - 1)))
        for key, value in env.items():
            container.with_env(key, value)
        return container

    def start_gateway(self, **env: str) -> str:
        """Another gateway container (its own settings, e.g. a short timeout); its SCIM base URL."""
        gateway = _publish_on_loopback(self._app("services.gateway", **env), 8000).start()
        self.gateways.append(gateway)
        url = self.gateway_url(gateway)
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        restarts_left = _RESTARTS_AT_START
        while not self._admin_answers(url):
            if restarted_after_unreachable_dependency(gateway, restarts_left):
                restarts_left -= 1
                url = self.gateway_url(gateway)  # an engine may publish a restarted one elsewhere
                continue
            wrapped = gateway.get_wrapped_container()
            wrapped.reload()
            if wrapped.status != "running" or time.monotonic() > deadline:
                raise ContainerStartError(f"gateway {wrapped.status}, not serving:\n{_log_tail(gateway)}")
            time.sleep(0.5)
        wait_until_ready(gateway, "gateway")  # its reply consumer holds its partitions
        return f"{url}/scim/v2"

    def _admin_answers(self, url: str) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{url}/admin/v1/tenants", headers=self.admin_auth, timeout=5).status_code == 200
        return False

    @staticmethod
    def gateway_url(gateway: DockerContainer) -> str:
        return f"http://127.0.0.1:{gateway.get_exposed_port(8000)}"

    # ------------------------------------------------------------------ what tests use

    @property
    def base_url(self) -> str:
        return f"{self.gateway_url(self.gateways[0])}/scim/v2"

    @property
    def admin_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def admin(self) -> httpx.Client:
        url = self.gateway_url(self.gateways[0])
        return httpx.Client(base_url=f"{url}/admin/v1", headers=self.admin_auth, timeout=60)

    def new_tenant(self, name: str) -> Tenant:
        with self.admin() as admin:
            return create_tenant(admin, name)

    def container(self, service: str) -> Container:
        """The engine's handle (kill, pause, start…) on a service's container."""
        wrapped: Container = self.services[service].get_wrapped_container()
        return wrapped

    def broker(self, node: int) -> Container:
        wrapped: Container = self.kafka[node - 1].get_wrapped_container()
        return wrapped

    def restart_service(self, service: str) -> None:
        """Start a stopped (killed) service container again; it keeps its settings and database."""
        starts_before = self.container(service).logs().count(_SERVICE_READY.encode())
        self.container(service).start()
        wait_for_log(self.services[service], _SERVICE_READY, occurrences=starts_before + 1)
        wait_until_ready(self.services[service], service)

    def log_tails(self) -> str:
        """The end of every application container's log: what a failed test is shown."""
        named = [*((f"gateway {n}", g) for n, g in enumerate(self.gateways)), *self.services.items()]
        return "\n".join(f"----- {name}\n{_log_tail(container)}" for name, container in named)

    def stop(self) -> None:
        for container in [*self.gateways, *self.services.values(), *self.kafka, self.postgres]:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.stop()
        with contextlib.suppress(Exception):
            self.network.remove()


@contextlib.contextmanager
def running_cluster(images: RosterImages, *, brokers: int, **gateway_env: str) -> Iterator[RosterCluster]:
    cluster = RosterCluster(images=images, brokers=brokers, gateway_env=dict(gateway_env))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
