"""Roster as containers on a three-node Kafka (replication 3, min ISR 2) under crashes mid-import:
no acknowledged create is lost, no user exists twice, and seats equal active users."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devinfra.images import RosterImages
from tests.containers.cluster import RosterCluster, running_cluster, wait_for_log
from tests.containers.okta_flows import OktaImport, assert_import_complete

# A cluster of containers starts within the first test: allow for it on a busy 2-core machine.
pytestmark = [pytest.mark.containers, pytest.mark.slow, pytest.mark.timeout(1200)]

USERS_PER_IMPORT = 40
FAULT_AFTER = 10  # acknowledged creates before the crash


@pytest.fixture(scope="module")
def roster(roster_images: RosterImages, docker_api: str) -> Iterator[RosterCluster]:
    # A short gateway timeout: requests caught by a crash are answered 503 (and retried) sooner.
    with running_cluster(roster_images, brokers=3, GATEWAY_REQUEST_TIMEOUT_SECONDS="5") as cluster:
        yield cluster


def _import(roster: RosterCluster, name: str) -> tuple[OktaImport, httpx.Client, httpx.Client]:
    tenant = roster.new_tenant(name)
    user_names = [f"{name}{i}@faults.example" for i in range(USERS_PER_IMPORT)]
    scim = httpx.Client(base_url=roster.base_url, headers=tenant.auth, timeout=30)
    return OktaImport(roster.base_url, tenant, user_names), scim, roster.admin()


def test_killed_users_service_mid_import_loses_and_duplicates_nothing(roster: RosterCluster) -> None:
    job, scim, admin = _import(roster, "killed-users")

    def crash_and_restart() -> None:
        roster.container("users").kill()  # SIGKILL: no shutdown, whatever was in flight is cut
        roster.restart_service("users")  # as a restart policy would

    job.run(fault=crash_and_restart, fault_after=FAULT_AFTER)
    assert job.retries > 0, "the crash went unnoticed: it did not hit the import"
    with scim, admin:
        assert_import_complete(scim, admin, job.tenant, job)


def test_killed_broker_mid_import_loses_and_duplicates_nothing(roster: RosterCluster) -> None:
    job, scim, admin = _import(roster, "killed-broker")
    broker = roster.broker(2)
    job.run(fault=broker.kill, fault_after=FAULT_AFTER)
    with scim, admin:
        assert_import_complete(scim, admin, job.tenant, job)
    broker.start()  # back in the quorum for whatever runs next
    wait_for_log(roster.kafka[1], "Kafka Server started", occurrences=2)
