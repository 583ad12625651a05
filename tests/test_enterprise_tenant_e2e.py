"""Enterprise-size tenants on the shared stack (PostgreSQL, real Kafka): seat reconciliation past the
size one reply could hold, and a 50,000-member group read over SCIM and the admin API. The data is
seeded straight through the owners' stores (SCIM would take hours), the reads go through the gateway.

``RECONCILE_USERS`` sets the tenant's size (30,000 here, past the ~27,000 users one reply held; the
100,000-user run in BENCHMARKS.md uses this test).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, col

from contracts.ids import mint_id
from contracts.teams import TeamSource
from contracts.users import UserProfile, UserRecord
from servicekit.db import make_engine
from services.seats import store as seats_store
from services.teams import domain as teams_domain
from services.teams import store as teams_store
from services.users import store as users_store
from tests.stack import Stack, Tenant, seats_used

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

USERS = int(os.environ.get("RECONCILE_USERS", "30000"))
MEMBERS = 50_000
_BATCH = 5_000


def _in_batches(url: str, items: list[str], write: Callable[[Session, list[str]], None]) -> None:
    engine = make_engine(url)
    try:
        for start in range(0, len(items), _BATCH):
            with Session(engine) as session, session.begin():
                write(session, items[start : start + _BATCH])
    finally:
        engine.dispose()


def _seed_users(stack: Stack, tenant: str, ids: list[str], *, inactive: set[str]) -> None:
    now = datetime.now(UTC)

    def write(session: Session, batch: list[str]) -> None:
        users = [
            UserRecord(
                id=user_id,
                profile=UserProfile(user_name=f"{user_id}@big.example", active=user_id not in inactive),
                created=now,
                last_modified=now,
                version=1,
            )
            for user_id in batch
        ]
        users_store.add_users(session, tenant=tenant, users=users)

    _in_batches(stack.users_database_url, ids, write)


def _seed_seats(stack: Stack, tenant: str, holders: list[str]) -> None:
    """Seats written straight into the seats database, and the count the service keeps set to them."""

    def write(session: Session, batch: list[str]) -> None:
        seats_store.lock_tenant(session, tenant=tenant)
        session.add_all(seats_store.Seat(tenant=tenant, user_id=user_id) for user_id in batch)
        limits = seats_store.SeatLimit
        held = col(limits.used) + len(batch)
        session.execute(update(limits).where(col(limits.tenant) == tenant).values(used=held))

    _in_batches(stack.seats_database_url, holders, write)


def _reconcile(stack: Stack, tenant: Tenant, *, repair: bool = False) -> dict[str, list[str]]:
    with stack.admin() as admin:
        answer = admin.post(f"/tenants/{tenant.id}/seats/reconcile", params={"repair": repair}, timeout=120)
    assert answer.status_code == 200, answer.text
    return {key: value for key, value in answer.json().items() if isinstance(value, list)}


def test_reconcile_on_an_enterprise_tenant_finds_and_repairs_exact_drift(stack: Stack) -> None:
    tenant = stack.new_tenant("enterprise")
    with stack.admin() as admin:
        assert admin.put(f"/tenants/{tenant.id}/seats", json={"limit": 1_000_000}).status_code == 200
    ids = sorted(mint_id() for _ in range(USERS))
    inactive = set(ids[::10])
    active = [user_id for user_id in ids if user_id not in inactive]
    missing, stray = active[:7], sorted(inactive)[:5]
    began = time.monotonic()
    _seed_users(stack, tenant.id, ids, inactive=inactive)
    _seed_seats(stack, tenant.id, [*active[len(missing) :], *stray])
    seeded = time.monotonic() - began

    began = time.monotonic()
    drift = _reconcile(stack, tenant)
    took = time.monotonic() - began
    print(f"\nreconcile of {USERS} users ({len(active)} active): {took:.2f} s (seeding {seeded:.1f} s)")
    assert drift == {
        "seats_without_active_user": stray,
        "active_users_without_seat": missing,
        "waiting_for_seat": [],
    }

    began = time.monotonic()
    repaired = _reconcile(stack, tenant, repair=True)
    assert repaired["active_users_without_seat"] == missing
    deadline = time.monotonic() + 120
    # both kinds settle on their own: reservations and releases travel separately, in each user's order
    unsettled = ("active_users_without_seat", "seats_without_active_user")
    while (
        any((drift := _reconcile(stack, tenant))[kind] for kind in unsettled) and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    print(f"repair of {len(missing) + len(stray)} drifted users settled in {time.monotonic() - began:.1f} s")
    assert drift == {"seats_without_active_user": [], "active_users_without_seat": [], "waiting_for_seat": []}
    with stack.admin() as admin:
        assert seats_used(admin, tenant) == len(active)


def _seed_team(stack: Stack, tenant: str, members: list[str]) -> str:
    team_id = mint_id()
    engine = make_engine(stack.teams_database_url)
    try:
        with Session(engine) as session, session.begin():
            row = teams_store.add_team(
                session,
                tenant=tenant,
                team_id=team_id,
                display_name="Everyone",
                name_key=teams_domain.name_key("Everyone"),
                source=TeamSource.SCIM,
                now=datetime.now(UTC),
                linked=True,
            )
            teams_store.add_members(session, row=row, user_ids=members)
    finally:
        engine.dispose()
    return team_id


def _resident_mib(pid: int) -> float:
    """The process's resident memory (``/proc``), for the printed numbers."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024


def test_a_fifty_thousand_member_group_is_read_whole_over_scim_and_the_admin_api(stack: Stack) -> None:
    tenant = stack.new_tenant("big-group")
    members = sorted(mint_id() for _ in range(MEMBERS))
    team_id = _seed_team(stack, tenant.id, members)
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=120) as scim:
        gateway = stack.gateways[0].pid
        before, began = _resident_mib(gateway), time.monotonic()
        group = scim.get(f"/Groups/{team_id}")
        took, after = time.monotonic() - began, _resident_mib(gateway)
        assert group.status_code == 200, group.text[:500]
        assert group.headers["content-type"].startswith("application/scim+json")
        assert group.headers["ETag"] == 'W/"1"' and "content-length" not in group.headers  # streamed
        body = group.json()
        assert (body["id"], body["displayName"]) == (team_id, "Everyone")
        assert [member["value"] for member in body["members"]] == members
        assert body["members"][0] == {
            "value": members[0],
            "$ref": f"{stack.base_url}/Users/{members[0]}",
            "type": "User",
        }
        print(
            f"\nGET /Groups/{{id}} with {MEMBERS} members: {took:.2f} s, {len(group.content)} bytes;"
            f" gateway resident memory {before:.0f} → {after:.0f} MiB"
        )
        values = scim.get(f"/Groups/{team_id}", params={"attributes": "members.value"}).json()
        assert values["members"][-1] == {"value": members[-1]}
        assert (
            "members" not in scim.get(f"/Groups/{team_id}", params={"excludedAttributes": "members"}).json()
        )
    with stack.admin() as admin:
        listed = admin.get(f"/tenants/{tenant.id}/teams", timeout=120)
    assert listed.status_code == 200, listed.text[:500]
    [team] = listed.json()["teams"]
    assert team["member_count"] == MEMBERS
    assert [member["user_id"] for member in team["members"]] == members
