"""Roster as containers on a single Kafka node: Okta's create flow and group push end to end, and
a frozen users service answered with 503 + Retry-After, everything completing once it thaws."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from devinfra.images import RosterImages
from tests.containers.cluster import RosterCluster, running_cluster
from tests.containers.okta_flows import okta_create, push_group
from tests.okta import filter_params, user_body
from tests.teams_client import eventually

# A cluster of containers starts within the first test: allow for it on a busy 2-core machine.
pytestmark = [pytest.mark.containers, pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def roster(roster_images: RosterImages, docker_api: str) -> Iterator[RosterCluster]:
    with running_cluster(roster_images, brokers=1) as cluster:
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
        assert admin.get(f"/tenants/{tenant.id}/seats").json()["used"] == 2


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
        assert admin.get(f"/tenants/{tenant.id}/seats").json()["used"] == 2
