"""The servers ``compare`` loads: scim2-server, and Roster in one of its shapes.

* ``default``: ``roster-run`` as a new user starts it — one local Kafka broker, every service on its
  own SQLite file.
* ``production``: every service on PostgreSQL, three Kafka brokers (replication 3, min ISR 2).
* ``production-2``: the same with a second users-service instance in the same consumer group.
* ``traced``: ``default`` with OpenTelemetry tracing on, exporting every span to a local OTLP sink
  (``otlp_sink.py``): beside ``default``, what tracing costs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from devinfra.bench.otlp_sink import otlp_sink
from devinfra.kafka import LocalKafkaCluster
from devinfra.ports import free_ports
from devinfra.postgres import LocalPostgres
from devinfra.processes import ManagedProcess, ProcessFailed, wait_for_http, wait_for_log
from devinfra.run import SERVICES

SHAPES = ("default", "production", "production-2", "traced")
ROSTER_START_TIMEOUT = 180.0
ROSTER_STOP_TIMEOUT = 90.0  # roster-run stops gateway, users and Kafka in turn, each with its own grace
# Lifted so the bench measures what the system serves, not the per-tenant limit (docs/configuration.md).
UNLIMITED = {"GATEWAY_RATE_LIMIT_PER_SECOND": "1000000", "GATEWAY_RATE_LIMIT_BURST": "1000000"}


@dataclass
class Target:
    """A server under load; its CPU is the CPU of every process tree in ``roots()``."""

    name: str
    base_url: str
    token: str
    process: ManagedProcess
    extra_roots: list[Callable[[], int | None]] = field(default_factory=list)

    def roots(self) -> list[int]:
        found = [self.process.pid] + [root() for root in self.extra_roots]
        return [pid for pid in found if pid is not None]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def scim2_server_path() -> Path:
    beside = Path(sys.executable).parent / "scim2-server"
    found = beside if beside.exists() else shutil.which("scim2-server")
    if found is None:
        raise ProcessFailed("scim2-server not found: it is in the dev dependency group (uv sync)")
    return Path(found)


@contextlib.contextmanager
def scim2_server(workdir: Path, *, token: str) -> Iterator[Target]:
    """The reference in-memory server on a free port, answering; stopped on the way out."""
    port = free_ports(1)[0]
    # One argument: a token may start with "-", which argparse would read as an option.
    argv = [str(scim2_server_path()), "--port", str(port), f"--bearer-token={token}"]
    process = ManagedProcess("scim2-server", argv, env=os.environ, log_file=workdir / "scim2-server.log")
    try:
        target = Target("scim2-server", f"http://127.0.0.1:{port}/v2", token, process.start())
        wait_for_http(f"{target.base_url}/Users?count=1", process=process, headers=_auth(token), timeout=30)
        yield target
    finally:
        process.stop()


@contextlib.contextmanager
def roster_stack(
    workdir: Path,
    *,
    seats: int,
    env: dict[str, str] | None = None,
    name: str = "Roster",
    tree: Path | None = None,
) -> Iterator[Target]:
    """``roster-run`` (Kafka unless ``env`` names one, the services, the gateway, a demo tenant with
    ``seats`` seats) on a free port; SIGTERM on the way out. ``tree``: the checkout whose code runs
    (this one's by default)."""
    state = workdir / f"{name}-state"
    argv = [sys.executable, "-m", "devinfra.run", "--state-dir", str(state)]
    argv += ["--port", str(free_ports(1)[0]), "--demo-seats", str(seats)]
    own_env = {**os.environ, **UNLIMITED, "ROSTER_STATE_DIR": str(state), **(env or {})}
    if tree is not None:
        own_env["PYTHONPATH"] = str(tree)
    log_file = workdir / f"{name}-run.log"
    process = ManagedProcess("roster-run", argv, env=own_env, log_file=log_file, cwd=tree)
    try:
        yield _roster_target(process.start(), name)
    finally:
        process.stop(timeout=ROSTER_STOP_TIMEOUT)


def _roster_target(process: ManagedProcess, name: str) -> Target:
    wait_for_log(process, "SCIM_TOKEN=", timeout=ROSTER_START_TIMEOUT)
    output = process.log_file.read_text(errors="replace")
    base = re.search(r"^SCIM_BASE_URL=(\S+)$", output, re.MULTILINE)
    token = re.search(r"^SCIM_TOKEN=(\S+)$", output, re.MULTILINE)
    if base is None or token is None:
        raise ProcessFailed(f"roster-run printed no SCIM_BASE_URL/SCIM_TOKEN:\n{process.log_tail()}")
    target = Target(name, base.group(1), token.group(1), process)
    wait_for_http(f"{target.base_url}/Users?count=1", process=process, headers=_auth(target.token))
    return target


def _postmaster_pid(server: LocalPostgres) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((server.data_dir / "postmaster.pid").read_text().split()[0])
    return None


@contextlib.contextmanager
def production_stack(workdir: Path, *, seats: int, users_instances: int) -> Iterator[Target]:
    """Every service on PostgreSQL, three brokers with replication 3 and min ISR 2, and
    ``users_instances`` users-service processes sharing the users topics' partitions."""
    pg_dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))  # the postgres OS user must reach it
    name = "Roster production" + ("" if users_instances == 1 else f" ({users_instances} users)")
    try:
        with (
            LocalPostgres(pg_dir) as postgres,
            LocalKafkaCluster(workdir / f"kafka-{users_instances}", nodes=3) as kafka,
        ):
            for service in SERVICES:  # the database each process of roster-run derives
                postgres.create_database(f"roster_{service}")
            env = {"DATABASE_URL": postgres.url("roster"), "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers}
            with roster_stack(workdir, seats=seats, env=env, name=name) as target:
                target.extra_roots.append(lambda: _postmaster_pid(postgres))
                target.extra_roots += [_pid_of(node.process) for node in kafka.nodes]
                with contextlib.ExitStack() as extras:
                    for index in range(1, users_instances):
                        extra = extras.enter_context(_extra_users(workdir, target, index, env))
                        target.extra_roots.append(lambda extra=extra: extra.pid)  # type: ignore[misc]
                    yield target
    finally:
        shutil.rmtree(pg_dir, ignore_errors=True)


def _pid_of(process: object) -> Callable[[], int | None]:
    return lambda: getattr(process, "pid", None)


@contextlib.contextmanager
def _extra_users(workdir: Path, target: Target, index: int, env: dict[str, str]) -> Iterator[ManagedProcess]:
    """Another users-service process beside roster-run's, on the same databases and brokers."""
    port = free_ports(1)[0]
    state = workdir / f"{target.name}-state"
    own = {**os.environ, **env, "ROSTER_STATE_DIR": str(state), "USERS_HEALTH_PORT": str(port)}
    log = state / "logs" / f"users-{index}.log"
    process = ManagedProcess.python_module(f"users-{index}", "services.users", env=own, log_file=log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", process=process.start(), timeout=90)
        yield process
    finally:
        process.stop()


@contextlib.contextmanager
def shape(name: str, workdir: Path, *, seats: int) -> Iterator[Target]:
    if name == "default":
        with roster_stack(workdir, seats=seats) as target:
            yield target
    elif name == "traced":
        with otlp_sink() as endpoint:
            tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
            with roster_stack(workdir, seats=seats, env=tracing, name="Roster (traced)") as target:
                yield target
    elif name in ("production", "production-2"):
        instances = 2 if name == "production-2" else 1
        with production_stack(workdir, seats=seats, users_instances=instances) as target:
            yield target
    else:
        raise ValueError(f"unknown shape {name!r}; known: {', '.join(SHAPES)}")
