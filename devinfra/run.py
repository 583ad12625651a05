"""`make run`: Kafka, the services and the gateway on 127.0.0.1, a demo tenant, its SCIM token."""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import httpx

from devinfra.kafka import LocalKafka
from devinfra.kafka.node import log_tail
from devinfra.ports import claim, free_ports, port_is_free, port_or_free
from devinfra.processes import (
    ManagedProcess,
    ProcessFailed,
    StopRequested,
    how_it_ended,
    stop_on_signals,
    stop_together,
    wait_for_http,
)
from roster_cli.models import MAX_SEATS  # the admin API's bound, as the CLI keeps it

DEMO_TENANT = "demo"


def admin_token(state_dir: Path) -> str:
    """ROSTER_ADMIN_TOKEN, else one kept in var/admin-token (readable only by its owner)."""
    if os.environ.get("ROSTER_ADMIN_TOKEN"):
        return os.environ["ROSTER_ADMIN_TOKEN"]
    path = state_dir / "admin-token"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never world-readable
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def demo_token(base_url: str, token: str, *, seats: int) -> str:
    """Create the demo tenant, with ``seats``, on first run; on later runs rotate its token (tokens show
    once) and leave its seat limit as an admin may have set it."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{base_url}/admin/v1", headers=auth, timeout=30) as client:
        tenants = {t["name"]: t["id"] for t in client.get("/tenants").raise_for_status().json()}
        if DEMO_TENANT not in tenants:
            tenant_id = client.post("/tenants", json={"name": DEMO_TENANT}).raise_for_status().json()["id"]
            client.put(f"/tenants/{tenant_id}/seats", json={"limit": seats}).raise_for_status()
            issued = client.post(f"/tenants/{tenant_id}/tokens")
        else:
            issued = client.post(f"/tenants/{tenants[DEMO_TENANT]}/tokens/rotate")
        return str(issued.raise_for_status().json()["token"])


SERVICES = ("users", "seats", "teams", "activity", "gateway")


def _services(env: dict[str, str], state_dir: Path) -> list[tuple[ManagedProcess, str]]:
    """Each process and the URL of its ``/readyz`` (the services' health listeners on free ports)."""
    logs, started = state_dir / "logs", []
    for name, health_port in zip(SERVICES, free_ports(len(SERVICES) - 1), strict=False):
        own = {**env, f"{name.upper()}_HEALTH_PORT": str(health_port)}
        process = ManagedProcess.python_module(
            name, f"services.{name}", env=own, log_file=logs / f"{name}.log", keep_log=True
        )
        started.append((process, f"http://127.0.0.1:{health_port}/readyz"))
    gateway = ManagedProcess.python_module(
        "gateway", "services.gateway", env=env, log_file=logs / "gateway.log", keep_log=True
    )
    return [*started, (gateway, f"http://127.0.0.1:{env['GATEWAY_PORT']}/readyz")]


def migrate(env: dict[str, str]) -> None:
    """Every database to this release's schema before the services start (they refuse an older one):
    a ``var/`` left by an earlier release is upgraded in place."""
    print("migrating the databases …", flush=True)
    subprocess.run([sys.executable, "-m", "services.migrate", "all"], env=env, check=True)


def _watch(processes: Sequence[ManagedProcess], kafka: LocalKafka | None) -> NoReturn:
    """Until a signal, or until one of them — the broker too — exits (``ProcessFailed``)."""
    while True:
        for process in processes:
            process.check_alive()
        if kafka is not None and not kafka.running:
            ended = how_it_ended(kafka.process.poll() if kafka.process is not None else None)
            raise ProcessFailed(f"Kafka exited ({ended}); last log lines:\n{log_tail(kafka.log_path)}")
        time.sleep(1)


def _stop(processes: Sequence[ManagedProcess]) -> None:
    """The gateway first, so that the requests it is answering finish while the services and the broker
    are still there to answer them (and their outcomes reach the activity log); then the services."""
    stop_together([process for process in processes if process.name == "gateway"])
    stop_together(processes)


def _gateway_port_taken(port: int) -> bool:
    """Checked first: the readiness wait would take another server's /readyz on this port for the
    gateway's, and the demo token would be asked of that server. uvicorn binds with SO_REUSEADDR.
    Claimed as well: another ``make run`` starting at the same moment found it free too."""
    if port_is_free(port, reuse_address=True) and claim(port):
        return False
    print(
        f"make run: 127.0.0.1:{port} is in use (another make run, or another server): stop it, or"
        " pick another port with --port or GATEWAY_PORT",
        file=sys.stderr,
    )
    return True


def run(state_dir: Path, port: int, demo_seats: int) -> int:
    if _gateway_port_taken(port):
        return 1
    state_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ROSTER_STATE_DIR": str(state_dir), "GATEWAY_PORT": str(port)}
    env["ROSTER_ADMIN_TOKEN"] = admin_token(state_dir)
    kafka: LocalKafka | None = None
    processes: list[ManagedProcess] = []
    try:
        migrate(env)
        if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
            # Kept from one run to the next, as the databases are: a record published and not yet
            # consumed when the last run stopped (or one of its processes died) is consumed now.
            kafka = LocalKafka(state_dir / "kafka", port=port_or_free(9092))
            print(f"starting Kafka on {kafka.bootstrap_servers} …", flush=True)
            kafka.start()
            env["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
        services = _services(env, state_dir)
        processes = [process.start() for process, _ in services]
        # Ready: consumers hold their partitions, so the first request is not left waiting.
        for process, ready in services:
            wait_for_http(ready, process=process, timeout=90)
        base = f"http://127.0.0.1:{port}"
        token = demo_token(base, env["ROSTER_ADMIN_TOKEN"], seats=demo_seats)
        cli = "uv run roster-admin" + ("" if port == 8000 else f" --gateway-url {base}")
        print(f"logs in {state_dir / 'logs'}; admin CLI: {cli} tenant list", flush=True)
        readiness = ", ".join(f"{process.name} {ready}" for process, ready in services)
        print(f"readiness (/readyz, /livez): {readiness}", flush=True)
        print(f"SCIM_BASE_URL={base}/scim/v2\nSCIM_TOKEN={token}", flush=True)
        _watch(processes, kafka)
    except StopRequested:
        print("stopping …", file=sys.stderr)
        return 0
    except ProcessFailed as failure:
        # One process gone is the whole system unusable (each is the only instance here): say which,
        # with its last log lines, and stop the rest rather than leave half a system serving.
        print(f"make run: {failure}\nstopping every process; see {state_dir / 'logs'}", file=sys.stderr)
        return 1
    finally:
        _stop(processes)
        if kafka is not None:
            kafka.stop()


_DESCRIPTION = """\
Run Roster on 127.0.0.1 (what `make run` runs): a Kafka broker, the users, seats,
teams and activity services, the gateway, a demo tenant and its SCIM token.

The output ends with two lines a script can read:
  SCIM_BASE_URL=http://127.0.0.1:<port>/scim/v2
  SCIM_TOKEN=<the demo tenant's token>
Ctrl-C (SIGINT) or SIGTERM stops every process started here, the gateway first,
Kafka last.

environment:
  KAFKA_BOOTSTRAP_SERVERS  use these brokers instead of starting one
  DATABASE_URL             use this PostgreSQL server instead of SQLite files"""


def _bounded(what: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``. Applied to the defaults read from
    the environment too (``GATEWAY_PORT``), so a bad value there is a usage error, not a traceback."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} (a whole number from {low} to {high})")
        return number

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roster-run", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("ROSTER_STATE_DIR", "var")),
        metavar="DIR",
        help="the SQLite files, Kafka's data, the logs and the admin token"
        " (default: $ROSTER_STATE_DIR, else var)",
    )
    parser.add_argument(
        "--port",
        type=_bounded("a port", 0, 65535),
        default=os.environ.get("GATEWAY_PORT", "8000"),
        help="the gateway's port; 0 picks a free one (default: $GATEWAY_PORT, else 8000)",
    )
    parser.add_argument(
        "--demo-seats",
        type=_bounded("a seat limit", 0, MAX_SEATS),
        default=100,
        metavar="N",
        help="the demo tenant's seat limit, set when it is created on the first run (default: 100)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    stop_on_signals()
    port = args.port or free_ports(1)[0]  # --port 0: any free port
    return run(args.state_dir.resolve(), port, args.demo_seats)


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
