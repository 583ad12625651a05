"""Every seat saga ends, with faults injected at each step (servicekit.faults), on a real Kafka broker
and real databases: the request is answered, no seat is left held or missing, nothing stays pending;
and a reconcile repair read before a deactivation never gives the seat back.

The stack is its own (SQLite, the spare broker) with ``ROSTER_FAULTS=@<file>``: each test arms the
faults it needs in that file while the processes run, and disarms them after.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from contracts.ids import mint_id
from contracts.users import UserProfile, UserRecord
from servicekit.db import make_engine
from services.users import store as users_store
from tests.okta import user_body
from tests.stack import Stack, Tenant, own_stack, seats_used
from tests.test_scim_users_e2e import _assert_error

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

TIMEOUT_SECONDS = 10  # the gateway's request timeout here: a request left unanswered costs this much


@pytest.fixture(scope="module")
def faults_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults") / "armed"


@pytest.fixture(scope="module")
def stack(spare_kafka_bootstrap: str, faults_file: Path) -> Iterator[Stack]:
    env = {"ROSTER_FAULTS": f"@{faults_file}", "GATEWAY_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS)}
    with own_stack(
        "roster-saga-faults-", kafka_bootstrap=spare_kafka_bootstrap, services=["users", "seats"], env=env
    ) as stack:
        _warm_up(stack)
        yield stack


def _warm_up(stack: Stack) -> None:
    """One whole saga before the tests: every consumer has joined and read, so the first test's answer
    is timed by the saga, not by a start-up on a busy host."""
    tenant = stack.new_tenant("warm-up")
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=60) as scim:
        deadline = time.monotonic() + 60
        while scim.post("/Users", json=user_body("warm@example.com")).status_code not in (201, 409):
            assert time.monotonic() < deadline, "the stack never created a user"


@pytest.fixture
def armed(faults_file: Path) -> Iterator[Path]:
    yield faults_file
    faults_file.write_text("")


@pytest.fixture
def tenant(stack: Stack, request: pytest.FixtureRequest) -> Tenant:
    tenant = stack.new_tenant(request.node.name[:40])
    with stack.admin() as admin:
        assert admin.put(f"/tenants/{tenant.id}/seats", json={"limit": 10}).status_code == 200
    return tenant


def _scim(stack: Stack, tenant: Tenant) -> httpx.Client:
    return httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=TIMEOUT_SECONDS * 3)


def _reconciled(stack: Stack, tenant: Tenant, *, repair: bool = False) -> dict[str, list[str]]:
    with stack.admin() as admin:
        answer = admin.post(f"/tenants/{tenant.id}/seats/reconcile", params={"repair": repair})
    assert answer.status_code == 200, answer.text
    return {key: value for key, value in answer.json().items() if isinstance(value, list)}


def _seats_used(stack: Stack, tenant: Tenant) -> int:
    with stack.admin() as admin:
        return seats_used(admin, tenant)


def _eventually(check: Callable[[], object], expected: object, *, within: float = 15) -> None:
    deadline = time.monotonic() + within
    while (seen := check()) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert seen == expected


def _named(scim: httpx.Client, user_name: str) -> int:
    found = scim.get("/Users", params={"filter": f'userName eq "{user_name}"'})
    assert found.status_code == 200, found.text
    return int(found.json()["totalResults"])


def _settled_clean(stack: Stack, tenant: Tenant) -> None:
    clean: dict[str, list[str]] = {
        "seats_without_active_user": [],
        "active_users_without_seat": [],
        "waiting_for_seat": [],
    }
    _eventually(lambda: _reconciled(stack, tenant), clean)


def test_a_create_whose_seat_was_granted_but_cannot_finish_is_undone_and_answered(
    stack: Stack, tenant: Tenant, armed: Path
) -> None:
    armed.write_text("users.seat_granted=fail")
    with _scim(stack, tenant) as scim:
        started = time.monotonic()
        answer = scim.post("/Users", json=user_body("stuck@example.com"))
        elapsed = time.monotonic() - started
        _assert_error(answer, 500, None)
        assert "could not finish this change and undid it" in answer.json()["detail"]
        assert elapsed < TIMEOUT_SECONDS, elapsed  # answered by the compensation, not the timeout
        _eventually(lambda: _seats_used(stack, tenant), 0)
        _settled_clean(stack, tenant)
        assert _named(scim, "stuck@example.com") == 0
        armed.write_text("")
        assert scim.post("/Users", json=user_body("stuck@example.com")).status_code == 201  # name free
    assert _seats_used(stack, tenant) == 1
    metrics = httpx.get(stack.readiness_urls["users-0"].replace("/readyz", "/metrics")).text
    assert 'roster_compensated_total{service="users",topic="seats.events.v1"}' in metrics


def test_a_reactivation_whose_seat_was_granted_but_cannot_finish_stays_inactive(
    stack: Stack, tenant: Tenant, armed: Path
) -> None:
    with _scim(stack, tenant) as scim:
        created = scim.post("/Users", json=user_body("later@example.com", active=False)).json()
        armed.write_text("users.seat_granted=fail")
        on = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": True}}],
        }
        answer = scim.patch(f"/Users/{created['id']}", json=on)
        _assert_error(answer, 500, None)
        assert "left inactive" in answer.json()["detail"]
        _eventually(lambda: _seats_used(stack, tenant), 0)
        _settled_clean(stack, tenant)
        assert scim.get(f"/Users/{created['id']}").json()["active"] is False


def test_a_create_that_cannot_be_parked_changes_nothing(stack: Stack, tenant: Tenant, armed: Path) -> None:
    armed.write_text("users.park=fail")
    with _scim(stack, tenant) as scim:
        answer = scim.post("/Users", json=user_body("unparked@example.com"))
        _assert_error(answer, 500, None)
        assert "set aside for support" in answer.json()["detail"]  # dead-lettered: nothing began
        _settled_clean(stack, tenant)
        assert _seats_used(stack, tenant) == 0 and _named(scim, "unparked@example.com") == 0


def test_a_seat_the_seats_service_cannot_take_leaves_the_create_waiting_not_created(
    stack: Stack, tenant: Tenant, armed: Path
) -> None:
    """Its ReserveSeat is dead-lettered; the create waits (asked again each 30 s after a minute, given
    up after 15: services/users/tests/test_saga_endings.py) and the request gets 503 meanwhile."""
    armed.write_text("seats.reserve=fail")
    with _scim(stack, tenant) as scim:
        answer = scim.post("/Users", json=user_body("waiting@example.com"))
        _assert_error(answer, 503, None)
        assert answer.headers["Retry-After"].isdigit()
        assert _seats_used(stack, tenant) == 0 and _named(scim, "waiting@example.com") == 0
        assert len(_reconciled(stack, tenant)["waiting_for_seat"]) == 1


def _seed_active_users(stack: Stack, tenant: Tenant, count: int) -> list[str]:
    """Active users written straight to the users store: no saga ran, so none holds a seat (drift)."""
    now = datetime.now(UTC)
    users = [
        UserRecord(
            id=mint_id(),
            profile=UserProfile(user_name=f"seeded{index}@example.com"),
            created=now,
            last_modified=now,
            version=1,
        )
        for index in range(count)
    ]
    engine = make_engine(stack.users_database_url)
    try:
        with Session(engine) as session, session.begin():
            users_store.add_users(session, tenant=tenant.id, users=users)
    finally:
        engine.dispose()
    return [user.id for user in users]


def test_a_repair_read_before_a_deactivation_never_gives_the_seat_back(
    stack: Stack, tenant: Tenant, armed: Path
) -> None:
    leaving, staying = _seed_active_users(stack, tenant, 2)
    armed.write_text("gateway.reconcile_repair=delay:3")  # the drift is read, then 3 s pass
    repaired: list[dict[str, list[str]]] = []
    repair = threading.Thread(target=lambda: repaired.append(_reconciled(stack, tenant, repair=True)))
    repair.start()
    time.sleep(1)
    off = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    with _scim(stack, tenant) as scim:
        assert scim.patch(f"/Users/{leaving}", json=off).status_code == 200
    repair.join()
    assert sorted(repaired[0]["active_users_without_seat"]) == sorted([leaving, staying])  # read before
    _eventually(lambda: _seats_used(stack, tenant), 1)  # the repair ran: the staying user's seat
    time.sleep(1)
    assert _seats_used(stack, tenant) == 1
    _settled_clean(stack, tenant)


def test_a_create_answered_503_and_sent_again_is_answered_with_the_user_it_made(
    stack: Stack, tenant: Tenant, armed: Path
) -> None:
    """The first attempt outlives the gateway's wait (503) and completes later; the identity provider
    sends the same POST again and gets that user (201), not 409 for a name its own create took. A
    different body for the name stays a conflict."""
    armed.write_text(f"seats.reserve=delay:{TIMEOUT_SECONDS + 2}")
    body = user_body("late@example.com")
    with _scim(stack, tenant) as scim:
        _assert_error(scim.post("/Users", json=body), 503, None)
        armed.write_text("")
        _eventually(lambda: _named(scim, "late@example.com"), 1)
        [made] = scim.get("/Users", params={"filter": 'userName eq "late@example.com"'}).json()["Resources"]
        again = scim.post("/Users", json=body)
        assert (again.status_code, again.json()["id"]) == (201, made["id"]), again.text
        _assert_error(scim.post("/Users", json={**body, "title": "Other"}), 409, "uniqueness")
        assert _named(scim, "late@example.com") == 1
