"""Seat limits enforced across gateway, users and seats, under concurrency and crashes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.okta import user_body
from tests.stack import Stack, Tenant
from tests.test_scim_users_e2e import _assert_error

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SEAT_DETAIL = "Seat limit reached: {used} of {limit} seats in use."


def _set_seats(stack: Stack, tenant: Tenant, limit: int) -> None:
    with stack.admin() as admin:
        assert admin.put(f"/tenants/{tenant.id}/seats", json={"limit": limit}).status_code == 200


def _seats(stack: Stack, tenant: Tenant) -> tuple[int, int]:
    with stack.admin() as admin:
        usage = admin.get(f"/tenants/{tenant.id}/seats", timeout=30).json()
    return usage["used"], usage["limit"]


def _active_users(stack: Stack, tenant: Tenant) -> set[str]:
    listed = httpx.get(
        f"{stack.base_url}/Users", headers=tenant.auth, params={"filter": "active eq true", "count": "1000"}
    ).json()
    return {user["id"] for user in listed["Resources"]}


def _total(stack: Stack, tenant: Tenant) -> int:
    listed = httpx.get(f"{stack.base_url}/Users", headers=tenant.auth, params={"count": "0"}).json()
    return int(listed["totalResults"])


def _total_matching(stack: Stack, tenant: Tenant, params: dict[str, str]) -> int:
    listed = httpx.get(f"{stack.base_url}/Users", headers=tenant.auth, params=params, timeout=30).json()
    return int(listed["totalResults"])


def _reconciled(stack: Stack, tenant: Tenant) -> dict[str, object]:
    with stack.admin() as admin:
        return dict(admin.post(f"/tenants/{tenant.id}/seats/reconcile").json())


def _settled(stack: Stack, tenant: Tenant, within_seconds: float = 180) -> dict[str, object]:
    """Reconcile once no create or reactivation waits for a seat any more and no drift is left, or the
    time is up: sagas cut short by a crash finish (or roll back) after the restart, some only when the
    users service asks again for a lost decision, and a saga undone stops waiting a moment before its
    ReleaseSeat reaches the seats service."""
    deadline = time.monotonic() + within_seconds
    drift = _reconciled(stack, tenant)
    kinds = ("waiting_for_seat", "seats_without_active_user", "active_users_without_seat")
    while any(drift[kind] for kind in kinds) and time.monotonic() < deadline:
        time.sleep(1)
        drift = _reconciled(stack, tenant)
    assert drift["waiting_for_seat"] == [], f"sagas still waiting after {within_seconds} s: {drift}"
    return drift


async def _burst(stack: Stack, tenant: Tenant, prefix: str, n: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=stack.base_url, headers=tenant.auth, timeout=60) as client:
        return list(
            await asyncio.gather(
                *(client.post("/Users", json=user_body(f"{prefix}{i}@example.com")) for i in range(n))
            )
        )


@pytest.fixture
def doubled(stack: Stack) -> Iterator[Stack]:
    """Two instances each of the users and seats services, as the issue demands."""
    extras = [stack.start_extra("users"), stack.start_extra("seats")]
    yield stack
    for extra in extras:
        extra.stop()
        stack.extras.remove(extra)


async def test_fifty_concurrent_creates_for_ten_free_seats(doubled: Stack) -> None:
    tenant = doubled.new_tenant("ten-seats")
    _set_seats(doubled, tenant, 10)
    responses = await _burst(doubled, tenant, "burst", 50)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [403] * 40, statuses
    for refused in (r for r in responses if r.status_code == 403):
        _assert_error(refused, 403, None)
        assert SEAT_DETAIL.format(used=10, limit=10) in refused.json()["detail"]
        assert "Deactivate a user in Okta" in refused.json()["detail"]
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert _seats(doubled, tenant) == (10, 10)
    assert _active_users(doubled, tenant) == created
    assert _total(doubled, tenant) == 10  # the refused users were not created


def test_deactivation_frees_a_seat_and_reactivation_needs_one(stack: Stack, tenant: Tenant) -> None:
    _set_seats(stack, tenant, 2)
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=60) as scim:
        first, second = (scim.post("/Users", json=user_body(f"s{i}@example.com")).json() for i in range(2))
        _assert_error(scim.post("/Users", json=user_body("third@example.com")), 403, None)
        off = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        }
        assert scim.patch(f"/Users/{first['id']}", json=off).status_code == 200
        assert _seats(stack, tenant) == (1, 2)
        third = scim.post("/Users", json=user_body("third@example.com"))
        assert third.status_code == 201
        on = {"schemas": off["schemas"], "Operations": [{"op": "replace", "value": {"active": True}}]}
        _assert_error(scim.patch(f"/Users/{first['id']}", json=on), 403, None)
        assert scim.get(f"/Users/{first['id']}").json()["active"] is False
        _assert_error(scim.put(f"/Users/{first['id']}", json=user_body("s0@example.com")), 403, None)
        assert scim.delete(f"/Users/{second['id']}").status_code == 204
        assert _seats(stack, tenant) == (1, 2)
        back = scim.patch(f"/Users/{first['id']}", json=on)
        assert back.status_code == 200 and back.json()["id"] == first["id"] and back.json()["active"] is True
        inactive = scim.post("/Users", json=user_body("parked@example.com", active=False))
        assert inactive.status_code == 201  # an inactive user holds no seat
    assert _seats(stack, tenant) == (2, 2)
    assert _reconciled(stack, tenant)["seats_without_active_user"] == []


def test_the_seats_set_aside_for_instant_activations_are_shown(stack: Stack, tenant: Tenant) -> None:
    """The seat allowance (docs/architecture.md §4) as operators read it: the first create is decided by
    the seats service, which sets aside half of the seats still free (19 // 2); the second is paid from
    them, and its seat counts as used once the seats service heard of it."""
    _set_seats(stack, tenant, 20)
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=60) as scim:
        for i in range(2):
            assert scim.post("/Users", json=user_body(f"aside{i}@example.com")).status_code == 201
    deadline = time.monotonic() + 30
    with stack.admin() as admin:
        while (usage := admin.get(f"/tenants/{tenant.id}/seats").json())["used"] < 2:
            assert time.monotonic() < deadline, usage
            time.sleep(0.2)
    assert usage == {"tenant_id": tenant.id, "used": 2, "limit": 20, "set_aside": 8}


def test_lowering_the_limit_below_usage_deprovisions_nobody(stack: Stack, tenant: Tenant) -> None:
    _set_seats(stack, tenant, 3)
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=60) as scim:
        for i in range(3):
            assert scim.post("/Users", json=user_body(f"low{i}@example.com")).status_code == 201
        _set_seats(stack, tenant, 1)
        _assert_error(scim.post("/Users", json=user_body("more@example.com")), 403, None)
        assert len(_active_users(stack, tenant)) == 3
    assert _seats(stack, tenant) == (3, 1)


def test_kill_9_of_seats_then_users_mid_burst_leaves_no_drift(stack: Stack) -> None:
    tenant = stack.new_tenant("fault-seats")
    _set_seats(stack, tenant, 15)
    assert stack.users is not None and stack.seats is not None
    with ThreadPoolExecutor(max_workers=1) as pool:
        burst = pool.submit(asyncio.run, _burst(stack, tenant, "fault", 30))
        time.sleep(0.5)
        stack.seats.kill()
        time.sleep(0.5)
        stack.users.kill()
        time.sleep(1)
        stack.start_seats()
        stack.start_users()
        responses = burst.result(timeout=180)
    assert all(r.status_code in (201, 403, 503) for r in responses), [r.status_code for r in responses]
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    drift = _settled(stack, tenant)
    assert drift["seats_without_active_user"] == [] and drift["active_users_without_seat"] == []
    active = _active_users(stack, tenant)
    assert created <= active  # every 201 the client saw is an active user
    assert _seats(stack, tenant) == (len(active), 15)


def test_seats_down_answers_503_and_the_parked_create_completes_when_it_returns(stack: Stack) -> None:
    tenant = stack.new_tenant("seats-down")
    _set_seats(stack, tenant, 5)
    assert stack.seats is not None
    lookup = {"filter": 'userName eq "parked@example.com"'}
    with stack.temporary_gateway("seats-down", GATEWAY_REQUEST_TIMEOUT_SECONDS="3") as base_url:
        stack.seats.stop()
        try:
            started = time.monotonic()
            body = user_body("parked@example.com")
            response = httpx.post(f"{base_url}/Users", headers=tenant.auth, json=body, timeout=30)
            assert response.status_code == 503 and response.headers["retry-after"]
            assert time.monotonic() - started < 10
            assert _total_matching(stack, tenant, lookup) == 0
        finally:
            stack.start_seats()
    for _ in range(60):  # the parked create completes once the seats service is back
        found = httpx.get(f"{stack.base_url}/Users", headers=tenant.auth, params=lookup, timeout=30).json()
        if found["totalResults"]:
            break
        time.sleep(0.5)
    assert found["totalResults"] == 1 and found["Resources"][0]["active"] is True
    assert _seats(stack, tenant) == (1, 5)
