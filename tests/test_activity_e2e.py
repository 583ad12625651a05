"""The activity log end to end: Okta's requests and what they caused, read over the admin API."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from roster_cli.app import app
from tests.okta import OKTA_USER_AGENT, user_body
from tests.stack import Stack, Tenant

pytestmark = [pytest.mark.kafka]

SEAT_DETAIL = "Seat limit reached: 1 of 1 seats in use."


def activity(stack: Stack, tenant: Tenant, **filters: Any) -> dict[str, Any]:
    with stack.admin() as admin:
        answer = admin.get(f"/tenants/{tenant.id}/activity", params=filters)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def wait_for_entries(
    stack: Stack, tenant: Tenant, count: int, timeout: float = 30.0, **filters: Any
) -> list[dict[str, Any]]:
    """The activity log is written after the answers: it catches up within moments."""
    deadline = time.monotonic() + timeout
    while True:
        entries: list[dict[str, Any]] = activity(stack, tenant, **filters)["entries"]
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.2)


def okta(stack: Stack, tenant: Tenant) -> httpx.Client:
    headers = {**tenant.auth, "User-Agent": OKTA_USER_AGENT}
    return httpx.Client(base_url=stack.base_url, headers=headers, timeout=30)


def test_a_create_refused_at_the_seat_limit_shows_the_detail_okta_got(stack: Stack, tenant: Tenant) -> None:
    with stack.admin() as admin:
        assert admin.put(f"/tenants/{tenant.id}/seats", json={"limit": 1}).status_code == 200
    with okta(stack, tenant) as scim:
        created = scim.post("/Users", json=user_body("ann@example.com"))
        refused = scim.post("/Users", json=user_body("bob@example.com"))
    assert (created.status_code, refused.status_code) == (201, 403)
    assert refused.json()["detail"].startswith(SEAT_DETAIL)

    # Okta's request as answered, and the seat the seats service denied it: both about Bob.
    refusals = wait_for_entries(stack, tenant, 2, outcome="refused", user="bob@example.com")
    assert sorted(e["summary"] for e in refusals) == ["POST User", "SeatDenied"]
    [entry] = [e for e in refusals if e["kind"] == "request"]
    assert entry["kind"] == "request" and entry["client"] == "okta"
    assert (entry["method"], entry["resource_type"], entry["status"]) == ("POST", "User", 403)
    assert entry["detail"] == refused.json()["detail"] and entry["name"] == "bob@example.com"
    # The seat service's refusal is the same conversation as the request Okta sent.
    related = wait_for_entries(stack, tenant, 2, correlation_id=entry["correlation_id"])
    assert {e["summary"] for e in related} >= {"POST User", "SeatDenied"}
    assert {(e["resource_id"], e["name"]) for e in related} == {(entry["resource_id"], "bob@example.com")}

    ann = wait_for_entries(stack, tenant, 3, user="ann@example.com")
    assert {"POST User", "UserCreated", "SeatReserved"} <= {e["summary"] for e in ann}
    assert {e["resource_id"] for e in ann} == {created.json()["id"]}

    shown = _cli(
        stack, "activity", tenant.id, "--outcome", "refused", "--since", "1h", "--user", "bob@example.com"
    )
    assert shown.exit_code == 0, shown.stderr
    [row] = [line for line in shown.stdout.splitlines() if "POST User" in line]
    assert any("SeatDenied" in line and "bob@example.com" in line for line in shown.stdout.splitlines())
    assert " ".join(row.split()).endswith(f"refused POST User okta 403 bob@example.com {entry['detail']}")
    document = json.loads(_cli(stack, "--json", "activity", tenant.id, "--outcome", "refused").stdout)
    assert [e["entry_id"] for e in document["entries"]][:1] == [entry["entry_id"]]
    by_request = _cli(stack, "--json", "activity", tenant.id, "--request-id", refused.headers["x-request-id"])
    found = json.loads(by_request.stdout)["entries"]
    assert {e["entry_id"] for e in found} >= {e["entry_id"] for e in related}  # more may have arrived since
    assert {e["correlation_id"] for e in found} == {entry["correlation_id"]}
    bad = _cli(stack, "activity", tenant.id, "--since", "last tuesday")
    assert bad.exit_code == 2 and "30m, 2h, 7d" in bad.stderr


def _cli(stack: Stack, *args: str) -> Result:
    url = f"http://127.0.0.1:{stack.gateway_ports[0]}"
    env = {"COLUMNS": "250", "ROSTER_ADMIN_URL": None, "ROSTER_ADMIN_TOKEN": None}
    return CliRunner().invoke(app, ["--url", url, "--token", stack.admin_token, *args], env=env)


def test_pages_are_newest_first_and_never_repeat(stack: Stack, tenant: Tenant) -> None:
    with okta(stack, tenant) as scim:
        for number in range(6):
            assert (
                scim.get("/Users", params={"filter": f'userName eq "p{number}@example.com"'}).status_code
                == 200
            )
    wait_for_entries(stack, tenant, 6, outcome="read")
    seen: list[str] = []
    moments: list[str] = []
    after: str | None = None
    while True:
        page = activity(stack, tenant, outcome="read", limit=4, **({"after": after} if after else {}))
        seen += [e["entry_id"] for e in page["entries"]]
        moments += [e["occurred_at"] for e in page["entries"]]
        if page["next_cursor"] is None:
            break
        after = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 6
    assert moments == sorted(moments, reverse=True)


@pytest.mark.parametrize(
    "filters, detail",
    [
        ({"outcome": "exploded"}, "outcome"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"since": "yesterday"}, "since"),
        (
            {"since": "2026-03-02T10:00:00Z", "until": "2026-03-02T09:00:00Z"},
            "until must be later than since.",
        ),
        ({"after": "not-a-cursor"}, "is not a cursor of this activity log."),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since and until must be times between years 1 and 9999."),
        ({"user": "ann@example.com", "team": "Sales"}, "filter by user or by team, not both"),
        ({"user": "a" * 513}, "user"),
    ],
)
def test_bad_filters_are_refused_with_invalid_value(
    stack: Stack, tenant: Tenant, filters: dict[str, str], detail: str
) -> None:
    with stack.admin() as admin:
        answer = admin.get(f"/tenants/{tenant.id}/activity", params=filters)
    assert answer.status_code == 400, answer.text
    assert answer.json()["scimType"] == "invalidValue" and detail in answer.json()["detail"]


def test_a_user_name_of_any_length_roster_stores_is_recorded_and_found_whole(
    stack: Stack, tenant: Tenant
) -> None:
    name = "l" * 300 + "@example.com"  # userNames up to 512 characters are stored
    with okta(stack, tenant) as client:
        body = user_body(name, emails=[{"primary": True, "value": "long@example.com", "type": "work"}])
        created = client.post("/Users", json=body)
        assert created.status_code == 201, created.text
    entries = wait_for_entries(stack, tenant, 3, user=name)  # the request, UserCreated, SeatReserved
    assert {"POST User", "UserCreated", "SeatReserved"} <= {entry["summary"] for entry in entries}
    assert {entry["name"] for entry in entries} == {name}


def test_an_unknown_tenant_has_no_activity(stack: Stack) -> None:
    with stack.admin() as admin:
        assert admin.get("/tenants/0000000000000000/activity").status_code == 404


async def _burst(stack: Stack, tenant: Tenant, request_ids: list[str]) -> list[int]:
    headers = {**tenant.auth, "User-Agent": OKTA_USER_AGENT}
    async with httpx.AsyncClient(base_url=stack.base_url, headers=headers, timeout=60) as scim:
        limit = asyncio.Semaphore(8)

        async def create(request_id: str) -> int:
            async with limit:
                body = user_body(f"{request_id}@example.com")
                answer = await scim.post("/Users", json=body, headers={"X-Request-ID": request_id})
                return answer.status_code

        return list(await asyncio.gather(*(create(request_id) for request_id in request_ids)))


def _everything(stack: Stack, tenant: Tenant, **filters: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = activity(stack, tenant, limit=200, **filters, **({"after": after} if after else {}))
        entries += page["entries"]
        if page["next_cursor"] is None:
            return entries
        after = page["next_cursor"]


@pytest.mark.slow
def test_kill_9_of_the_activity_service_mid_burst_loses_nothing_and_shows_nothing_twice(stack: Stack) -> None:
    tenant = stack.new_tenant("activity-kill")
    with stack.admin() as admin:
        assert admin.put(f"/tenants/{tenant.id}/seats", json={"limit": 1000}).status_code == 200
    request_ids = [f"burst-{number:03d}-{tenant.id[:6]}" for number in range(150)]
    assert stack.activity is not None
    with ThreadPoolExecutor(max_workers=1) as pool:
        burst = pool.submit(asyncio.run, _burst(stack, tenant, request_ids))
        wait_for_entries(stack, tenant, 10, outcome="created")  # the service is recording the burst
        stack.activity.kill()
        assert not burst.done()  # killed mid-burst
        time.sleep(1.0)
        stack.start_activity()
        statuses = burst.result(timeout=180)
    assert statuses == [201] * len(request_ids)

    deadline = time.monotonic() + 60
    while True:
        requests = _everything(stack, tenant, outcome="created")
        shown = [e["request_id"] for e in requests if e["kind"] == "request"]
        created = [e["resource_id"] for e in requests if e["summary"] == "UserCreated"]
        if min(len(shown), len(created)) >= len(request_ids) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sorted(shown) == sorted(request_ids)  # every request once: none lost, none twice
    assert len(created) == len(set(created)) == len(request_ids)
