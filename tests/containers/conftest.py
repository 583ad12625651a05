"""The container tier: an engine (Docker if present, else podman), Roster's images (built once,
reused while their inputs do not change) and a Docker-API address for testcontainers.

A missing engine, runc or image build fails these tests at once with what is missing."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest
from testcontainers.core.config import ConnectionMode, testcontainers_config

from devinfra.containers import ContainerEngineError, Engine, api_service, detect_engine
from devinfra.images import ImageBuildError, RosterImages, ensure_images
from tests.containers.cluster import RosterCluster


@pytest.fixture(scope="session")
def container_engine() -> Engine:
    try:
        return detect_engine()
    except ContainerEngineError as error:
        pytest.fail(f"container tier: {error}", pytrace=False)


@pytest.fixture(scope="session")
def roster_images(container_engine: Engine) -> RosterImages:
    try:
        return ensure_images(container_engine)
    except (ContainerEngineError, ImageBuildError) as error:
        pytest.fail(f"container tier: {error}", pytrace=False)


@pytest.fixture(scope="session")
def docker_api(container_engine: Engine) -> Iterator[str]:
    """Points testcontainers at the engine's Docker API (a podman API service started for the session
    when podman is the engine)."""
    # Ryuk (the reaper) is an image from a registry this machine cannot reach; fixtures remove what
    # they start. Over a podman socket, testcontainers must use the host's published ports
    # (its default inspects fields podman's API does not return).
    testcontainers_config.ryuk_disabled = True
    testcontainers_config.connection_mode_override = ConnectionMode.docker_host
    try:
        with api_service(container_engine) as address, pytest.MonkeyPatch.context() as patch:
            patch.setenv("DOCKER_HOST", address)
            yield address
    except ContainerEngineError as error:
        pytest.fail(f"container tier: {error}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test on a cluster shows the end of each application container's log: the cluster is
    gone by the time anyone reads the report."""
    report = yield
    cluster = getattr(item, "funcargs", {}).get("roster")
    if report.failed and isinstance(cluster, RosterCluster):
        try:
            report.sections.append(("Roster containers' logs", cluster.log_tails()))
        except Exception as error:  # a container already gone must not hide the failure itself
            report.sections.append(("Roster containers' logs", f"unavailable: {error!r}"))
    return report
