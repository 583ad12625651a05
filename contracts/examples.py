"""One example of every event, as a consumer receives it: the record key and the envelope.

Fixed ids and times, so the events reference (``contracts/asyncapi.py``) is generated identically every
time. Built from the contract models themselves, so an example can never drift from its schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from contracts import activity, seats, teams, users
from contracts.envelope import Envelope, Message, wrap
from contracts.sources import ChangeSource
from contracts.topics import resource_key, tenant_key

TENANT = "3f2a9c1e5b7d4e60"
ANN = "0b9e7a52-4c1d-4f6e-9a38-2d5b7c1e8f40"  # a manager
BOB = "5d2c8e14-7a3b-4b9f-8e61-9c0f2a4d6b73"  # Ann's report
TEAM = "8c4f1b2e-6d3a-4e7c-b915-0a2e5f8d3c61"
WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
_NAMESPACE = uuid5(NAMESPACE_URL, "roster:examples")


def _uuid(name: str) -> UUID:
    return uuid5(_NAMESPACE, name)


def _record(
    user_id: str, user_name: str, *, manager_ref: str | None, manager_id: str | None
) -> users.UserRecord:
    return users.UserRecord(
        id=user_id,
        profile=users.UserProfile(
            user_name=user_name,
            external_id=f"00u{user_id[:8]}",
            display_name=user_name.split("@")[0].replace(".", " ").title(),
            name=users.PersonName(given_name=user_name.split(".")[0].title()),
            emails=(users.ContactValue(value=user_name, type="work", primary=True),),
            enterprise=users.EnterpriseInfo(employee_number=user_id[:4], manager_ref=manager_ref),
            roster_role=users.RosterRole.MANAGER if manager_ref is None else None,
        ),
        created=WHEN,
        last_modified=WHEN,
        version=1,
        manager_id=manager_id,
    )


_ANN = _record(ANN, "ann.lee@example.com", manager_ref=None, manager_id=None)
_BOB = _record(BOB, "bob.ray@example.com", manager_ref="ann.lee@example.com", manager_id=ANN)
_SCIM = ChangeSource.SCIM

_USER_EVENTS: tuple[tuple[str, Message], ...] = (
    (BOB, users.UserCreated(user=_BOB)),
    (BOB, users.UserUpdated(user=_BOB.model_copy(update={"version": 2}))),
    (BOB, users.UserDeactivated(user_id=BOB)),
    (BOB, users.UserReactivated(user_id=BOB)),
    (BOB, users.UserDeleted(user_id=BOB)),
    (
        BOB,
        users.UserManagerChanged(
            user_id=BOB,
            manager_id=ANN,
            previous_manager_id=None,
            via=users.ManagerVia.REFERENCE,
            source=_SCIM,
        ),
    ),
)
_TEAM_EVENTS: tuple[Message, ...] = (
    teams.TeamCreated(
        team_id=TEAM,
        display_name="Sales West",
        team_source=teams.TeamSource.SCIM,
        external_id="00g1",
        source=_SCIM,
    ),
    teams.TeamLinked(team_id=TEAM, display_name="Sales West", external_id="00g1"),
    teams.TeamUnlinked(team_id=TEAM, display_name="Sales West"),
    teams.TeamRenamed(
        team_id=TEAM, previous_name="Sales West", display_name="Sales West Coast", source=_SCIM
    ),
    teams.TeamMembersChanged(team_id=TEAM, added=(BOB,), removed=(), source=_SCIM),
    teams.TeamDeleted(team_id=TEAM, source=_SCIM),
)
_SEAT_EVENTS: tuple[tuple[bytes, Message], ...] = (
    (tenant_key(TENANT), seats.SeatReserved(user_id=BOB, used=12, limit=50)),
    (tenant_key(TENANT), seats.SeatDenied(user_id=BOB, used=50, limit=50)),
    (tenant_key(TENANT), seats.SeatReleased(user_id=BOB, used=11, limit=50)),
    (tenant_key(TENANT), seats.SeatLimitReached(used=50, limit=50)),
    (tenant_key(TENANT), seats.SeatLimitChanged(used=12, limit=75)),
    (tenant_key(TENANT), seats.SeatAllowanceGranted(amount=19)),
    (tenant_key(TENANT), seats.SeatAllowanceRecalled(recall_id="6f1d2c3b-4a59-4e87-9b10-2c3d4e5f6a7b")),
)

_REFUSED_CREATE = activity.RequestOutcome(
    client=activity.ClientKind.OKTA,
    method="POST",
    resource_type="User",
    name="bob.ray@example.com",
    status=403,
    detail="Seat limit reached: 50 of 50 seats in use. Deactivate a user in Okta or contact your account"
    " team to add seats.",
    duration_ms=41.7,
    request_id="8d1f0c2a9b7e4d53",
)


def _envelope(message: Message, *, producer: str) -> Envelope:
    envelope = wrap(
        message,
        tenant=TENANT,
        producer=producer,
        correlation_id=_uuid("a SCIM request"),
        causation_id=_uuid(f"the command behind {message.type_name()}"),
    )
    return envelope.model_copy(update={"message_id": _uuid(message.type_name()), "occurred_at": WHEN})


def event_examples() -> dict[str, tuple[bytes, Envelope]]:
    """Every event type → (record key, envelope) as it appears on its topic."""
    examples: list[tuple[bytes, Envelope]] = [
        (resource_key(TENANT, user_id), _envelope(event, producer="users")) for user_id, event in _USER_EVENTS
    ]
    default_moved = users.DefaultManagerChanged(chosen_id=ANN, effective_id=ANN, source=ChangeSource.PORTAL)
    examples.append((tenant_key(TENANT), _envelope(default_moved, producer="users")))
    examples += [(resource_key(TENANT, TEAM), _envelope(event, producer="teams")) for event in _TEAM_EVENTS]
    examples += [(key, _envelope(event, producer="seats")) for key, event in _SEAT_EVENTS]
    examples.append((tenant_key(TENANT), _envelope(_REFUSED_CREATE, producer="gateway")))
    return {envelope.type: (key, envelope) for key, envelope in examples}
