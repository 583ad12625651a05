"""Several gateway instances on one Kafka, and what a gateway answers when nobody replies."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

import httpx
import pytest

from contracts.envelope import Envelope
from contracts.topics import gateway_reply_topic
from tests.kafka_client import Collector
from tests.okta import user_body
from tests.stack import Stack

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


async def _create_and_read(client: httpx.AsyncClient, base_url: str, user_name: str) -> tuple[str, str]:
    created = await client.post(f"{base_url}/Users", json=user_body(user_name))
    assert created.status_code == 201, created.text
    fetched = await client.get(f"{base_url}/Users/{created.json()['id']}")
    assert fetched.status_code == 200
    return created.json()["userName"], fetched.json()["userName"]


async def _correlation_ids(stack: Stack, instance: str) -> set[UUID]:
    async with Collector(stack.kafka_bootstrap, gateway_reply_topic(instance)) as replies:
        await asyncio.sleep(3)  # the topic is read from its beginning
        return {Envelope.from_bytes(record.value).correlation_id for record in replies.records}


async def test_two_gateway_instances_under_concurrent_load_each_get_their_own_answers(stack: Stack) -> None:
    assert len(stack.gateways) == 1, "this test starts the second gateway itself"
    second = stack.start_gateway()
    tenant = stack.new_tenant("two-gateways")
    names = [f"load{i}@example.com" for i in range(60)]
    async with httpx.AsyncClient(headers=tenant.auth, timeout=30) as client:
        results = await asyncio.gather(
            *(
                _create_and_read(client, stack.base_url if i % 2 else second, name)
                for i, name in enumerate(names)
            )
        )
        listed = (await client.get(f"{second}/Users", params={"count": "0"})).json()
    assert [created for created, _ in results] == names
    assert [fetched for _, fetched in results] == names
    assert listed["totalResults"] == len(names)
    # Replies reach only the instance that asked: 30 creates + 30 reads + 1 list went to the second.
    first_ids, second_ids = [await _correlation_ids(stack, i) for i in stack.gateway_instances[:2]]
    assert len(second_ids) == len(names) + 1
    assert not first_ids & second_ids


def test_two_gateways_on_one_database_share_one_rate_limit_per_tenant(stack: Stack) -> None:
    """The limit is the tenant's, not each instance's: three requests through two gateways use up a
    burst of three, and the fourth is 429 with Retry-After on either gateway."""
    tenant, other = stack.new_tenant("one-limit"), stack.new_tenant("own-limit")
    slow = {"GATEWAY_RATE_LIMIT_PER_SECOND": "0.01", "GATEWAY_RATE_LIMIT_BURST": "3"}  # no refill
    with (
        stack.temporary_gateway("limited-a", **slow) as first,
        stack.temporary_gateway("limited-b", **slow) as second,
    ):
        statuses = [
            httpx.get(f"{url}/Users", headers=tenant.auth, params={"count": "0"}, timeout=30).status_code
            for url in (first, second, first)
        ]
        refused = [httpx.get(f"{url}/Users", headers=tenant.auth, timeout=30) for url in (second, first)]
        elsewhere = httpx.get(f"{second}/Users", headers=other.auth, params={"count": "0"}, timeout=30)
    assert statuses == [200, 200, 200]
    assert [r.status_code for r in refused] == [429, 429]
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert refused[0].json()["status"] == "429"
    assert elsewhere.status_code == 200  # another tenant's budget is its own


def test_no_reply_in_time_is_503_with_retry_after_not_a_hang(stack: Stack) -> None:
    tenant = stack.new_tenant("timeout")
    assert stack.users is not None
    short = {"GATEWAY_REQUEST_TIMEOUT_SECONDS": "2", "GATEWAY_RETRY_AFTER_SECONDS": "7"}
    with stack.temporary_gateway("short-timeout", **short) as base_url:
        stack.users.stop()
        try:
            started = time.monotonic()
            response = httpx.post(
                f"{base_url}/Users", headers=tenant.auth, json=user_body("late@example.com"), timeout=30
            )
            elapsed = time.monotonic() - started
        finally:
            stack.start_users()
        assert response.status_code == 503
        assert response.headers["retry-after"] == "7"
        assert response.headers["content-type"].startswith("application/scim+json")
        assert response.json()["status"] == "503"
        # An Okta admin can quote it: the detail names the request id the answer carries.
        assert f"Request id: {response.headers['x-request-id']}." in response.json()["detail"]
        assert elapsed < 10
    # The gateway is gone with its reply topic while the late reply still waits in the outbox:
    # that undeliverable reply must not block what comes after it.
    after = httpx.get(f"{stack.base_url}/Users", headers=tenant.auth, params={"count": "0"}, timeout=30)
    assert after.status_code == 200, after.text
