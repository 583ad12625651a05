"""Roster as containers on a one-node Kafka (a developer's or a small deployment's shape, replication
1): Okta's create flow and group push end to end, and the only broker restarted mid-import — the
gateway refuses at once while Kafka is gone (503 + Retry-After, not a 15 s wait per request), the
import completes once the broker is back, and nothing is lost or duplicated."""

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

pytestmark = [pytest.mark.containers, pytest.mark.slow, pytest.mark.timeout(900)]

USERS_PER_IMPORT = 30
FAULT_AFTER = 10  # acknowledged creates before the broker goes down


@pytest.fixture(scope="module")
def roster(roster_images: RosterImages, docker_api: str) -> Iterator[RosterCluster]:
    with running_cluster(roster_images, brokers=1, GATEWAY_REQUEST_TIMEOUT_SECONDS="5") as cluster:
        yield cluster


def test_okta_create_flow_and_group_push_on_one_broker(roster: RosterCluster) -> None:
    tenant = roster.new_tenant("single-okta")
    with httpx.Client(base_url=roster.base_url, headers=tenant.auth, timeout=30) as scim:
        ada, bob = okta_create(scim, "ada@single.example"), okta_create(scim, "bob@single.example")
        found = scim.get("/Users", params=filter_params("bob@single.example")).json()
        assert [user["id"] for user in found["Resources"]] == [bob]
        group_id = push_group(scim, "Sales West", [ada, bob])
        assert scim.get(f"/Groups/{group_id}").json()["displayName"] == "Sales West"
    with roster.admin() as admin:
        assert seats_used(admin, tenant) == 2


def _refused_fast_while_down(scim: httpx.Client) -> str:
    """With the only broker gone the gateway's Kafka watch refuses before publishing; the userName
    of the create refused at once. Each try has its own userName: a slow 503 (before the watch
    noticed) may still be in the producer's buffer and happen once the broker is back."""
    deadline = time.monotonic() + 60
    for attempt in range(1000):
        user_name = f"while-down{attempt}@single.example"
        started = time.monotonic()
        answer = scim.post("/Users", json=user_body(user_name))
        if answer.status_code == 503 and time.monotonic() - started < 2:
            assert answer.headers["retry-after"]
            assert answer.json()["status"] == "503"
            return user_name
        assert time.monotonic() < deadline, "the gateway never refused at once while its broker was down"
        time.sleep(0.5)
    raise AssertionError("no create was refused at once")


def test_only_broker_restarted_mid_import_loses_and_duplicates_nothing(roster: RosterCluster) -> None:
    tenant = roster.new_tenant("single-restart")
    user_names = [f"restart{i}@single.example" for i in range(USERS_PER_IMPORT)]
    job = OktaImport(roster.base_url, tenant, user_names)
    broker = roster.broker(1)
    # The probe's creates go to a tenant of their own: a slow 503 may still create its user later.
    bystander = roster.new_tenant("single-bystander")
    probe = httpx.Client(base_url=roster.base_url, headers=bystander.auth, timeout=30)
    refused: list[str] = []

    def outage() -> None:
        broker.kill()  # SIGKILL: no shutdown; what it wrote stays in the container's filesystem
        refused.append(_refused_fast_while_down(probe))
        broker.start()

    with probe:
        job.run(fault=outage, fault_after=FAULT_AFTER)
        wait_for_log(roster.kafka[0], "Kafka Server started", occurrences=2)
        assert job.retries > 0, "the outage went unnoticed: it did not hit the import"
        with (
            httpx.Client(base_url=roster.base_url, headers=tenant.auth, timeout=30) as scim,
            roster.admin() as admin,
        ):
            assert_import_complete(scim, admin, tenant, job)
        # Refused at once means never published: that create did not happen later either.
        assert probe.get("/Users", params=filter_params(refused[0])).json()["totalResults"] == 0
