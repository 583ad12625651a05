"""Roster as containers on a three-node Kafka (replication 3, min ISR 2): Okta's create flow and group
push end to end; a frozen users service answered with 503 + Retry-After, everything completing once
it thaws; and crashes mid-import: no acknowledged create is lost, no user exists twice, and seats
equal active users. One cluster for the module: starting one costs minutes on a 2-core machine."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from devinfra.images import RosterImages
from tests.containers.cluster import RosterCluster, running_cluster, wait_for_log
from tests.containers.okta_flows import (
    OktaImport,
    assert_import_complete,
    okta_create,
    push_group,
)
from tests.okta import filter_params, user_body
from tests.stack import seats_used
from tests.teams_client import eventually

# A cluster of containers starts within the first test: allow for it on a busy 2-core machine.
pytestmark = [pytest.mark.containers, pytest.mark.slow, pytest.mark.timeout(1200)]

USERS_PER_IMPORT = 40
FAULT_AFTER = 10  # acknowledged creates before the crash


@pytest.fixture(scope="module")
def roster(roster_images: RosterImages, docker_api: str) -> Iterator[RosterCluster]:
    # A short gateway timeout: requests caught by a crash are answered 503 (and retried) sooner.
    with running_cluster(roster_images, brokers=3, GATEWAY_REQUEST_TIMEOUT_SECONDS="5") as cluster:
        yield cluster


def test_okta_create_flow_and_group_push(roster: RosterCluster) -> None:
    tenant = roster.new_tenant("containers-okta")
    with httpx.Client(base_url=roster.base_url, headers=tenant.auth, timeout=30) as scim:
        ada, bob = okta_create(scim, "ada@containers.example"), okta_create(scim, "bob@containers.example")
        found = scim.get("/Users", params=filter_params("ada@containers.example")).json()
        assert [user["id"] for user in found["Resources"]] == [ada]
        group_id = push_group(scim, "Sales East", [ada, bob])
        assert scim.get(f"/Groups/{group_id}").json()["displayName"] == "Sales East"
    with roster.admin() as admin:
        assert seats_used(admin, tenant) == 2


def test_frozen_users_service_is_503_with_retry_after_then_completes(roster: RosterCluster) -> None:
    tenant = roster.new_tenant("containers-frozen")
    short = roster.start_gateway(GATEWAY_REQUEST_TIMEOUT_SECONDS="3", GATEWAY_RETRY_AFTER_SECONDS="7")
    users = roster.container("users")
    with httpx.Client(base_url=short, headers=tenant.auth, timeout=30) as scim:
        users.pause()
        try:
            started = time.monotonic()
            refused = scim.post("/Users", json=user_body("frozen@containers.example"))
            elapsed = time.monotonic() - started
            looked_up = scim.get("/Users", params=filter_params("frozen@containers.example"))
        finally:
            users.unpause()
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "7"
        assert refused.json()["status"] == "503"
        assert 3 <= elapsed < 8
        assert looked_up.status_code == 503

        # The create was taken before the freeze and completes once the service thaws.
        def matches() -> int:
            return int(
                scim.get("/Users", params=filter_params("frozen@containers.example")).json()["totalResults"]
            )

        assert eventually(matches, 1, timeout=60) == 1
        assert okta_create(scim, "after@containers.example")
    with roster.admin() as admin:
        assert seats_used(admin, tenant) == 2


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
