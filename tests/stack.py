"""A running Roster for end-to-end tests: users service and gateway as real processes."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devinfra.ports import free_ports
from devinfra.processes import ManagedProcess, stop_together, wait_for_http
from servicekit import migrations
from servicekit.db import make_engine
from services.migrate import DATABASES, Target


@dataclass
class Tenant:
    id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def create_tenant(admin: httpx.Client, name: str) -> Tenant:
    """A new tenant and a SCIM token for it, through the admin API (``admin`` is based at /admin/v1)."""
    tenant = admin.post("/tenants", json={"name": f"{name}-{secrets.token_hex(4)}"}).json()
    token = admin.post(f"/tenants/{tenant['id']}/tokens").json()["token"]
    return Tenant(id=tenant["id"], token=token)


def seats_used(admin: httpx.Client, tenant: Tenant) -> int:
    """Seats the tenant holds, as the admin API reports them (a refusal fails with its answer)."""
    usage = admin.get(f"/tenants/{tenant.id}/seats")
    assert usage.status_code == 200, usage.text
    return int(usage.json()["used"])


@dataclass
class Stack:
    state_dir: Path
    kafka_bootstrap: str
    users_database_url: str
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    seats_database_url: str = ""
    teams_database_url: str = ""
    activity_database_url: str = ""
    users: ManagedProcess | None = None
    seats: ManagedProcess | None = None
    teams: ManagedProcess | None = None
    activity: ManagedProcess | None = None
    gateways: list[ManagedProcess] = field(default_factory=list)
    gateway_ports: list[int] = field(default_factory=list)
    gateway_instances: list[str] = field(default_factory=list)
    extras: list[ManagedProcess] = field(default_factory=list)
    readiness_urls: dict[str, str] = field(default_factory=dict)  # process name → its /readyz

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "ROSTER_STATE_DIR": str(self.state_dir),
            "ROSTER_ADMIN_TOKEN": self.admin_token,
            "USERS_DATABASE_URL": self.users_database_url,
            "SEATS_DATABASE_URL": self.seats_database_url,
            "TEAMS_DATABASE_URL": self.teams_database_url,
            "ACTIVITY_DATABASE_URL": self.activity_database_url,
            "GATEWAY_DATABASE_URL": f"sqlite:///{self.state_dir / 'gateway.db'}",
            **overrides,
        }

    def migrate(self) -> None:
        """Every database brought to this code's schema before any process starts, as an operator
        runs ``roster-migrate all`` before a deployment."""
        urls = {
            Target.USERS: self.users_database_url,
            Target.SEATS: self.seats_database_url,
            Target.TEAMS: self.teams_database_url,
            Target.ACTIVITY: self.activity_database_url,
            Target.GATEWAY: self.env()["GATEWAY_DATABASE_URL"],
        }
        for target, url in urls.items():
            engine = make_engine(url)
            try:
                migrations.upgrade(engine, DATABASES[target][0])
            finally:
                engine.dispose()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_ports[0]}/scim/v2"

    def start_users(self, **env: str) -> ManagedProcess:
        self.users, ready = self._launch("users", "users", **env)
        wait_for_http(ready, process=self.users, timeout=90)
        return self.users

    def start_seats(self, **env: str) -> ManagedProcess:
        self.seats, ready = self._launch("seats", "seats", **env)
        wait_for_http(ready, process=self.seats, timeout=90)
        return self.seats

    def start_teams(self, **env: str) -> ManagedProcess:
        self.teams, ready = self._launch("teams", "teams", **env)
        wait_for_http(ready, process=self.teams, timeout=90)
        return self.teams

    def start_activity(self, **env: str) -> ManagedProcess:
        self.activity, ready = self._launch("activity", "activity", **env)
        wait_for_http(ready, process=self.activity, timeout=90)
        return self.activity

    def start_extra(self, service: str) -> ManagedProcess:
        """Another instance of a service, in the same consumer groups and on the same database."""
        extra, ready = self._launch(service, f"{service}-extra-{len(self.extras)}")
        self.extras.append(extra)
        wait_for_http(ready, process=extra, timeout=90)
        return extra

    def _launch(self, service: str, name: str, **env: str) -> tuple[ManagedProcess, str]:
        """Start a service instance with its health listener on a free port; returns it and the URL
        of its ``/readyz``, which answers 200 once its consumers hold their partitions."""
        port = free_ports(1)[0]
        env = {f"{service.upper()}_HEALTH_PORT": str(port), **env}
        log = self.state_dir / "logs" / f"{name}.log"
        process = ManagedProcess.python_module(name, f"services.{service}", env=self.env(**env), log_file=log)
        self.readiness_urls[name] = f"http://127.0.0.1:{port}/readyz"
        return process.start(), self.readiness_urls[name]

    @contextlib.contextmanager
    def temporary_gateway(self, name: str, **env: str) -> Iterator[str]:
        """A gateway with its own settings (say, a short timeout) for one test; stopped afterwards,
        which deletes its reply topic. Yields its SCIM base URL."""
        port = free_ports(1)[0]
        log = self.state_dir / "logs" / f"gateway-{name}.log"
        gateway = ManagedProcess.python_module(
            f"gateway-{name}", "services.gateway", env=self.env(GATEWAY_PORT=str(port), **env), log_file=log
        ).start()
        try:
            wait_for_http(f"http://127.0.0.1:{port}/readyz", process=gateway, timeout=90)
            yield f"http://127.0.0.1:{port}/scim/v2"
        finally:
            gateway.stop()

    def start_gateway(self) -> str:
        """Another gateway instance (instance id ``gw<index>``); returns its SCIM base URL."""
        port = free_ports(1)[0]
        index = len(self.gateways)
        log = self.state_dir / "logs" / f"gateway-{index}.log"
        env = self.env(GATEWAY_PORT=str(port), GATEWAY_INSTANCE_ID=f"gw{index}-{secrets.token_hex(3)}")
        gateway = ManagedProcess.python_module(f"gateway-{index}", "services.gateway", env=env, log_file=log)
        gateway.start()
        wait_for_http(f"http://127.0.0.1:{port}/readyz", process=gateway, timeout=90)
        self.gateways.append(gateway)
        self.gateway_instances.append(env["GATEWAY_INSTANCE_ID"])
        self.gateway_ports.append(port)
        return f"http://127.0.0.1:{port}/scim/v2"

    def start_together(self, services: Sequence[str], *, gateways: int = 0, **env: str) -> None:
        """Start these service instances (a name twice: two instances) and ``gateways`` gateways all
        at once, as an orchestrator does, then wait until every one of them is up."""
        started: list[tuple[ManagedProcess, str]] = []
        for service in services:
            process, ready = self._launch(service, f"{service}-{len(self.extras)}", **env)
            self.extras.append(process)
            started.append((process, ready))
        for _ in range(gateways):
            port, instance = free_ports(1)[0], f"gw{len(self.gateways)}-{secrets.token_hex(3)}"
            log = self.state_dir / "logs" / f"gateway-{instance}.log"
            env_here = self.env(GATEWAY_PORT=str(port), GATEWAY_INSTANCE_ID=instance, **env)
            process = ManagedProcess.python_module(instance, "services.gateway", env=env_here, log_file=log)
            self.gateways.append(process.start())
            self.gateway_ports.append(port)
            self.gateway_instances.append(instance)
            started.append((process, f"http://127.0.0.1:{port}/readyz"))
        for process, ready in started:
            wait_for_http(ready, process=process, timeout=180)

    @property
    def admin_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.gateway_ports[0]}/admin/v1", headers=self.admin_auth, timeout=30
        )

    def new_tenant(self, name: str) -> Tenant:
        with self.admin() as admin:
            return create_tenant(admin, name)

    def stop(self) -> None:
        started = (self.users, self.seats, self.teams, self.activity)
        services = [service for service in started if service is not None]
        stop_together([*self.gateways, *self.extras, *services])


@contextlib.contextmanager
def own_stack(
    prefix: str,
    *,
    kafka_bootstrap: str,
    services: Sequence[str],
    env: Mapping[str, str] | None = None,
    database_url: Callable[[str], str] | None = None,
) -> Iterator[Stack]:
    """A stack of its own on ``kafka_bootstrap`` in a fresh state directory: ``services`` and one
    gateway started together with ``env``, all stopped after. Each service's database is at
    ``database_url(service)``; by default a SQLite file in the state directory."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    url = database_url or (lambda service: f"sqlite:///{root / service}.db")
    stack = Stack(
        state_dir=root,
        kafka_bootstrap=kafka_bootstrap,
        users_database_url=url("users"),
        seats_database_url=url("seats"),
        teams_database_url=url("teams"),
        activity_database_url=url("activity"),
    )
    try:
        stack.migrate()
        stack.start_together(services, gateways=1, **(env or {}))
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
