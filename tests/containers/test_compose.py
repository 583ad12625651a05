"""docker-compose.yml exactly as shipped, on the machine's engine (podman-compose on podman,
`docker compose` on Docker): up; every target of deploy/prometheus/prometheus.yml answering from
another container of the deployment; the documented release commands (`roster-migrate`,
`roster-admin`) inside the app image; Okta's create flow and a group push through the gateway
published on 127.0.0.1; users scaled to three and teams to two, and the same again; PostgreSQL
stopped with the services' connections open and started again without a recovery; down with nothing
left. The tests share one deployment and run in this order."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import yaml

from devinfra.containers import REPO_ROOT, Engine
from devinfra.images import RosterImages
from devinfra.ports import free_ports
from tests.containers.okta_flows import okta_create, push_group
from tests.stack import Tenant, create_tenant

# A cluster of containers starts within the first test: allow for it on a busy 2-core machine.
pytestmark = [pytest.mark.containers, pytest.mark.slow, pytest.mark.timeout(1200)]

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
PROMETHEUS_CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
INFRASTRUCTURE = ("kafka-1", "kafka-2", "kafka-3", "postgres")
SERVICES = ("users", "seats", "teams", "activity", "gateway")
_HEALTHY_WITHIN_SECONDS = 600.0  # a three-node quorum on a busy 2-core machine


@dataclass
class ComposeProject:
    engine: Engine
    name: str
    env: dict[str, str]

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.engine.run_compose(
            "-p", self.name, "-f", str(COMPOSE_FILE), *args, env=self.env, timeout=600
        )

    def containers(self, service: str | None = None, *, running_only: bool = False) -> list[str]:
        filters = ["--filter", f"label=com.docker.compose.project={self.name}"]
        if service:
            filters += ["--filter", f"label=com.docker.compose.service={service}"]
        listed = self.engine.run("ps", *([] if running_only else ["-a"]), *filters, "--format", "{{.Names}}")
        return sorted(listed.stdout.split())

    def down(self) -> None:
        if self.engine.is_podman:
            # podman-compose's `down` knows each service's first container only, and podman keeps a
            # container that others depend on (their depends_on): the scaled replicas go first.
            replicas = [name for name in self.containers() if not name.endswith("_1")]
            if replicas:
                self.engine.run("rm", "--force", "--time", "10", *replicas)
        self("down", "--volumes", "--timeout", "10")

    def leftovers(self) -> dict[str, list[str]]:
        label = f"label=com.docker.compose.project={self.name}"
        volumes = self.engine.run("volume", "ls", "--filter", label, "--format", "{{.Name}}").stdout.split()
        networks = self.engine.run("network", "ls", "--format", "{{.Name}}").stdout.split()
        return {
            "containers": self.containers(),
            "volumes": volumes,
            "networks": [network for network in networks if network.startswith(self.name)],
        }

    def wait_healthy(self, service: str) -> None:
        for container in self.containers(service):
            self._wait_healthy(container)

    def _wait_healthy(self, container: str) -> None:
        deadline = time.monotonic() + _HEALTHY_WITHIN_SECONDS
        while not self._healthy(container):
            if time.monotonic() > deadline:
                logs = self.engine.run("logs", "--tail", "40", container, check=False)
                pytest.fail(
                    f"{container} not healthy in {_HEALTHY_WITHIN_SECONDS} s:\n{logs.stdout}{logs.stderr}"
                )
            time.sleep(5)

    def _healthy(self, container: str) -> bool:
        if self.engine.is_podman:
            # podman schedules healthchecks with systemd timers; with no systemd (this machine) none
            # run on their own, so run the container's check the way the timer would.
            return self.engine.run("healthcheck", "run", container, check=False).returncode == 0
        status = self.engine.run("inspect", "--format", "{{.State.Health.Status}}", container, check=False)
        return status.stdout.strip() == "healthy"


@pytest.fixture(scope="module")
def project(container_engine: Engine, roster_images: RosterImages) -> Iterator[ComposeProject]:
    env = {
        **roster_images.compose_env(),
        "ROSTER_ADMIN_TOKEN": secrets.token_urlsafe(32),
        "ROSTER_POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "ROSTER_GATEWAY_PORT": str(free_ports(1)[0]),
    }
    compose = ComposeProject(container_engine, f"roster-test-{secrets.token_hex(3)}", env)
    try:
        yield compose
    finally:
        with contextlib.suppress(Exception):
            compose.down()


def _up(project: ComposeProject, *args: str) -> None:
    # podman-compose with podman older than 4.6 (Debian bookworm has 4.3) ignores
    # `condition: service_healthy`; bringing the infrastructure up first is what that condition does.
    project("up", "--detach", *INFRASTRUCTURE)
    for service in INFRASTRUCTURE:
        project.wait_healthy(service)
    project("up", "--detach", *args)
    for service in SERVICES:
        project.wait_healthy(service)


@pytest.fixture(scope="module")
def deployed(project: ComposeProject) -> ComposeProject:
    _up(project)
    return project


def _okta_story(base_url: str, tenant: Tenant, label: str) -> None:
    with httpx.Client(base_url=base_url, headers=tenant.auth, timeout=30) as scim:
        members = [okta_create(scim, f"{label}-{i}@compose.example") for i in range(3)]
        push_group(scim, f"Team {label}", members)


# Run by the app image's own Python in a container of the deployment: an HTTP GET as a scraper or an
# orchestrator's probe on the compose network makes it (the host reaches only the published gateway).
_FETCH = """
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as answer:
    sys.stdout.write(answer.read().decode())
"""


def _scrape_targets() -> list[tuple[str, str]]:
    """(metrics path, host:port) of every static target Prometheus is configured to scrape."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    return [
        (job.get("metrics_path", "/metrics"), target)
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    ]


def test_every_scrape_target_answers_from_another_container(deployed: ComposeProject) -> None:
    targets = _scrape_targets()
    assert {target.split(":")[0] for _, target in targets} == {*SERVICES}
    for path, target in targets:
        service = target.split(":")[0]
        neighbour = deployed.containers("seats" if service != "seats" else "users")[0]
        urls = [f"http://{target}{path}"]
        if service != "gateway":
            urls.append(f"http://{target}/readyz")  # the orchestrator's probe, on the same listener
        for url in urls:
            fetched = deployed.engine.run("exec", neighbour, "python", "-c", _FETCH, url, check=False)
            assert fetched.returncode == 0, f"{neighbour} → {url}: {fetched.stderr[-1000:]}"
            if url.endswith(path):
                assert "faststream_received_messages_total" in fetched.stdout, (url, fetched.stdout[:500])


def test_release_commands_run_in_the_app_image(deployed: ComposeProject) -> None:
    """What the runbook has operators run as a release step (a job or init container, or `exec` here)
    is on the image's PATH and acts on the deployment's databases, named without their password."""
    gateway = deployed.containers("gateway")[0]
    password = deployed.env["ROSTER_POSTGRES_PASSWORD"]
    for command in (["roster-migrate", "all", "--check"], ["roster-migrate", "all"]):
        ran = deployed.engine.run("exec", gateway, *command, check=False)
        assert ran.returncode == 0, f"{' '.join(command)}: {ran.stdout}{ran.stderr}"
        for service in SERVICES:
            database = f"postgresql+psycopg://roster:***@postgres:5432/roster_{service}"
            assert f"{service}: {database}: database at schema revision" in ran.stdout, ran.stdout
        assert password not in ran.stdout + ran.stderr
    version = deployed.engine.run("exec", gateway, "roster-admin", "--version", check=False)
    assert version.returncode == 0 and version.stdout.startswith("roster-admin "), version.stderr
    # In the gateway's container roster-admin finds the gateway and its token where they are.
    created = deployed.engine.run("exec", gateway, "roster-admin", "tenant", "create", "Release", check=False)
    listed = deployed.engine.run("exec", gateway, "roster-admin", "tenant", "list", check=False)
    assert created.returncode == 0, created.stdout + created.stderr
    assert listed.returncode == 0 and "Release" in listed.stdout, listed.stdout + listed.stderr


def test_provision_and_scale(deployed: ComposeProject) -> None:
    gateway = f"http://127.0.0.1:{deployed.env['ROSTER_GATEWAY_PORT']}"
    auth = {"Authorization": f"Bearer {deployed.env['ROSTER_ADMIN_TOKEN']}"}
    with httpx.Client(base_url=f"{gateway}/admin/v1", headers=auth, timeout=60) as admin:
        tenant = create_tenant(admin, "compose")
        _okta_story(f"{gateway}/scim/v2", tenant, "first")

        # podman-compose takes one --scale per command and leaves other services' replicas be;
        # `docker compose up --scale users=3 --scale teams=2` does both at once.
        deployed("up", "--detach", "--scale", "users=3")
        deployed("up", "--detach", "--scale", "teams=2")
        for service, replicas in {"users": 3, "teams": 2}.items():
            deployed.wait_healthy(service)
            assert len(deployed.containers(service, running_only=True)) == replicas
        for service in ("seats", "gateway"):
            deployed.wait_healthy(service)
        _okta_story(f"{gateway}/scim/v2", tenant, "scaled")
        assert _seats_used(admin, tenant) == 6


def test_postgres_stops_at_once_and_cleanly(deployed: ComposeProject) -> None:
    """Stopped while every service instance holds its pool's connections, PostgreSQL ends them and
    shuts down within seconds, well before the engine's stop timeout would SIGKILL it (exit 137), and
    its next start needs no recovery."""
    postgres = deployed.containers("postgres")[0]
    started = time.monotonic()
    deployed.engine.run("stop", "--time", "30", postgres, timeout=120)
    took = time.monotonic() - started
    state = deployed.engine.run("inspect", "--format", "{{.State.ExitCode}}", postgres).stdout.strip()
    assert state == "0" and took < 15, f"exit status {state} after {took:.0f} s"
    deployed.engine.run("start", postgres)
    deployed.wait_healthy("postgres")
    logs = deployed.engine.run("logs", postgres)
    said = logs.stdout + logs.stderr
    assert "fast shutdown request" in said, said[-2000:]
    assert "not properly shut down" not in said and "automatic recovery" not in said, said[-2000:]


def test_down_leaves_nothing(deployed: ComposeProject) -> None:
    deployed.down()
    assert deployed.leftovers() == {"containers": [], "volumes": [], "networks": []}


def _seats_used(admin: httpx.Client, tenant: Tenant) -> int:
    """Seats in use, asked as a client would: a 503 (a consumer group still settling after the
    scale) is retried after its Retry-After, for a minute."""
    deadline = time.monotonic() + 60
    while True:
        answer = admin.get(f"/tenants/{tenant.id}/seats")
        if answer.status_code != 503 or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.text
            return int(answer.json()["used"])
        time.sleep(int(answer.headers.get("retry-after", "1")))
