"""The container engine that builds Roster's images and runs its containers: Docker or podman.

A Docker engine is used when one is there (``DOCKER_HOST``, else ``/var/run/docker.sock``);
otherwise podman, configured by ``containers/containers.conf`` through ``CONTAINERS_CONF`` (nothing
under ``/etc`` is touched). Every check fails at once with what is missing, never by timing out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ContainerEngineError", "Engine", "api_service", "detect_engine"]

REPO_ROOT = Path(__file__).resolve().parent.parent
PODMAN_CONF = REPO_ROOT / "containers" / "containers.conf"
DOCKER_SOCKET = Path("/var/run/docker.sock")
_INFO_TIMEOUT_SECONDS = 60.0
_API_START_SECONDS = 30.0


class ContainerEngineError(RuntimeError):
    """No usable container engine, or one of its parts is missing."""


@dataclass(frozen=True)
class Engine:
    """How to drive one engine: its CLI, its compose tool and the environment both need."""

    cli: str  # "docker" or "podman"
    compose: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    docker_host: str = ""  # the Docker-API address, when one already serves (Docker engines)

    @property
    def is_podman(self) -> bool:
        return self.cli == "podman"

    def environ(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def run(
        self, *args: str, timeout: float | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``<cli> args…`` with captured output; a failure raises with the engine's own words."""
        return _run([self.cli, *args], env=self.environ(), timeout=timeout, check=check)

    def run_compose(
        self, *args: str, env: dict[str, str] | None = None, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        return _run([*self.compose, *args], env={**self.environ(), **(env or {})}, timeout=timeout)

    def image_id(self, reference: str) -> str | None:
        found = self.run("image", "inspect", "--format", "{{.Id}}", reference, check=False)
        return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else None


def _run(
    command: Sequence[str], *, env: dict[str, str], timeout: float | None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            list(command), env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as error:
        raise ContainerEngineError(f"`{command[0]}` is not installed") from error
    except subprocess.TimeoutExpired as error:
        raise ContainerEngineError(f"`{' '.join(command)}` did not finish within {timeout} s") from error
    if check and result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-3000:]
        raise ContainerEngineError(f"`{' '.join(command)}` failed ({result.returncode}):\n{output}")
    return result


def detect_engine() -> Engine:
    """The Docker engine the environment names or the machine runs, else podman."""
    docker_host = os.environ.get("DOCKER_HOST", "")
    if not docker_host and DOCKER_SOCKET.is_socket():
        docker_host = f"unix://{DOCKER_SOCKET}"
    if docker_host and not _is_podman_socket(docker_host):
        return _checked(_docker_engine(docker_host))
    return _checked(_podman_engine(docker_host))


def _is_podman_socket(docker_host: str) -> bool:
    # A podman API service started by hand (`podman system service`) also speaks the Docker API;
    # then the podman CLI and podman-compose drive the same storage.
    return "podman" in docker_host and shutil.which("podman") is not None


def _docker_engine(docker_host: str) -> Engine:
    if shutil.which("docker") is None:
        raise ContainerEngineError(
            f"a Docker engine answers at {docker_host} but the `docker` CLI is not installed"
        )
    return Engine(
        cli="docker", compose=("docker", "compose"), env={"DOCKER_HOST": docker_host}, docker_host=docker_host
    )


def _podman_engine(docker_host: str) -> Engine:
    if shutil.which("podman") is None:
        raise ContainerEngineError(
            "no container engine: DOCKER_HOST is unset, there is no /var/run/docker.sock and podman "
            "is not installed (scripts/bootstrap.sh installs podman, runc and debootstrap)"
        )
    if shutil.which("runc") is None:
        raise ContainerEngineError(
            "podman is installed but runc is not: containers/containers.conf selects runc because "
            "crun cannot run on this machine's hybrid cgroups (apt-get install runc)"
        )
    # Installed with the dev dependencies, next to this interpreter even when the venv is not on PATH.
    beside_python = Path(sys.executable).with_name("podman-compose")
    compose = str(beside_python) if beside_python.is_file() else shutil.which("podman-compose")
    if compose is None:
        raise ContainerEngineError("podman-compose is missing: `uv sync` installs it (dev dependencies)")
    env = {"CONTAINERS_CONF": str(PODMAN_CONF)}
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    return Engine(cli="podman", compose=(compose,), env=env, docker_host=docker_host)


def _checked(engine: Engine) -> Engine:
    result = engine.run("info", "--format", "{{json .}}", timeout=_INFO_TIMEOUT_SECONDS, check=False)
    if result.returncode != 0:
        raise ContainerEngineError(
            f"`{engine.cli} info` failed, so the engine cannot run containers here:\n"
            f"{result.stderr.strip()[-2000:]}"
        )
    if not engine.is_podman:
        _run([*engine.compose, "version"], env=engine.environ(), timeout=_INFO_TIMEOUT_SECONDS)
    return engine


@contextlib.contextmanager
def api_service(engine: Engine) -> Iterator[str]:
    """A Docker-API address for clients such as testcontainers: the engine's own, or a podman API
    service started here on a private socket and stopped on exit."""
    if engine.docker_host:
        yield engine.docker_host
        return
    socket_dir = Path(tempfile.mkdtemp(prefix="roster-podman-"))
    address = f"unix://{socket_dir / 'podman.sock'}"
    log_path = socket_dir / "service.log"
    with log_path.open("wb") as log:
        service = subprocess.Popen(
            [engine.cli, "system", "service", "--time=0", address],
            env=engine.environ(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_socket(service, socket_dir / "podman.sock", log_path)
        yield address
    finally:
        service.terminate()
        try:
            service.wait(10)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        shutil.rmtree(socket_dir, ignore_errors=True)


def _wait_for_socket(service: subprocess.Popen[bytes], socket_path: Path, log_path: Path) -> None:
    deadline = time.monotonic() + _API_START_SECONDS
    while not socket_path.is_socket():
        if service.poll() is not None:
            error = log_path.read_text(errors="replace")[-2000:]
            raise ContainerEngineError(f"`podman system service` exited ({service.returncode}):\n{error}")
        if time.monotonic() > deadline:
            raise ContainerEngineError(f"`podman system service` opened no socket in {_API_START_SECONDS} s")
        time.sleep(0.1)
