"""Creating and replacing users through the users service's handlers (``UsersHarness``), and reading
the manager links, the default manager and the events they left: shared by the manager tests
(``test_managers.py``, ``test_default_manager.py``).
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from sqlmodel import Session, select

from contracts.envelope import Envelope, Message
from contracts.registry import payload_of
from contracts.sources import ChangeSource
from contracts.topics import USERS_EVENTS
from contracts.users import (
    ContactValue,
    CreateUser,
    DefaultManager,
    EnterpriseInfo,
    GetDefaultManager,
    ManagerVia,
    ReplaceUser,
    RosterRole,
    UserManagerChanged,
    UserProfile,
    UserRecord,
    UserReply,
)
from services.users.manager_store import UserManagerRow
from services.users.tests.conftest import UsersHarness

RULE, SCIM, PORTAL = ChangeSource.MANAGER_RULE, ChangeSource.SCIM, ChangeSource.PORTAL
REF, DEFAULT, NONE = ManagerVia.REFERENCE, ManagerVia.DEFAULT, ManagerVia.NONE


def profile(
    name: str,
    *,
    ref: str | None = None,
    role: RosterRole | None = None,
    employee_number: str | None = None,
    external_id: str | None = None,
    email: str | None = None,
    active: bool = True,
    roles: tuple[ContactValue, ...] = (),
) -> UserProfile:
    enterprise = EnterpriseInfo(employee_number=employee_number, manager_ref=ref)
    emails = (ContactValue(value=email, type="work", primary=True),) if email else ()
    return UserProfile(
        user_name=name,
        external_id=external_id,
        emails=emails,
        enterprise=enterprise,
        roster_role=role,
        roles=roles,
        active=active,
    )


def create(harness: UsersHarness, name: str, *, tenant: str = "acme", **fields: Any) -> UserRecord:
    reply = harness.send(CreateUser(user_id=str(uuid4()), profile=profile(name, **fields)), tenant=tenant)
    assert isinstance(reply, UserReply), reply
    return reply.user


def replace(harness: UsersHarness, user: UserRecord, **changes: object) -> UserRecord:
    wanted = user.profile.model_copy(update=changes)
    reply = harness.send(ReplaceUser(user_id=user.id, profile=wanted, expected_version=user.version))
    assert isinstance(reply, UserReply), reply
    return reply.user


def links(harness: UsersHarness) -> dict[str, tuple[str | None, ManagerVia]]:
    with Session(harness.engine) as session:
        rows = session.exec(select(UserManagerRow))
        return {row.user_id: (row.manager_id, ManagerVia(row.via)) for row in rows}


def events(harness: UsersHarness) -> list[tuple[bytes | None, Message]]:
    return [
        (row.key, payload_of(Envelope.from_bytes(row.value)))
        for row in harness.outbox()
        if row.topic == USERS_EVENTS
    ]


def manager_changes(
    harness: UsersHarness, *, since: int = 0
) -> list[tuple[str, str | None, str | None, ManagerVia, ChangeSource]]:
    found = []
    for key, event in events(harness)[since:]:
        if isinstance(event, UserManagerChanged):
            assert key == f"acme:{event.user_id}".encode()
            found.append(
                (event.user_id, event.manager_id, event.previous_manager_id, event.via, event.source)
            )
    return found


def default_manager(harness: UsersHarness) -> DefaultManager:
    reply = harness.send(GetDefaultManager())
    assert isinstance(reply, DefaultManager), reply
    return reply
