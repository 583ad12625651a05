"""Which topic and which key every call to an owner publishes with (contracts/topics.py), checked on the
messages as they would travel, answered with the owners' real reply types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from scim2_models import SCIMException

from contracts.listing import ListParameters
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.seats import GetSeatUsage, ListSeatHolders, ReleaseSeat, ReserveSeat, SetSeatLimit
from contracts.teams import (
    ChangePortalTeamMembers,
    CreatePortalTeam,
    DeleteGroup,
    DeletePortalTeam,
    GetTeam,
    ListGroups,
    ListTeams,
    PatchGroup,
    PushGroup,
    ReleaseTeam,
    RenamePortalTeam,
    ReplaceGroup,
)
from contracts.topics import (
    SEATS_COMMANDS,
    SEATS_QUERIES,
    TEAMS_COMMANDS,
    TEAMS_QUERIES,
    USERS_COMMANDS,
    USERS_QUERIES,
)
from contracts.users import (
    CreateUser,
    DeleteUser,
    FindUserIds,
    GetDefaultManager,
    GetUser,
    ListActiveUserIds,
    ListUsers,
    ReplaceUser,
    SetDefaultManager,
    UserProfile,
)
from services.gateway.http.errors import Refused
from services.gateway.owners import IDS_PER_CHECK, Owners
from services.gateway.tests.wire import USER_PAGE, Wire

TENANT = "acme"
PARAMETERS = ListParameters(filter='userName eq "ann"', start_index=3, count=7, sort_by="userName")
PROFILE = UserProfile(user_name="ann@example.com")
Call = Callable[[Owners], Awaitable[Any]]

RESOURCE = "the resource"  # <tenant>:<id>: one resource's messages stay in order
TENANT_ALONE = "the tenant"  # one tenant's seats (and default manager) are decided one at a time
SPREAD = "a fresh key"  # a query of its own: any partition

CALLS: list[tuple[str, Call, type[Any], str, str]] = [
    ("users.get", lambda o: o.users.get(TENANT, "u1"), GetUser, USERS_QUERIES, RESOURCE),
    ("users.list", lambda o: o.users.list(TENANT, PARAMETERS), ListUsers, USERS_QUERIES, SPREAD),
    (
        "users.write create",
        lambda o: o.users.write(TENANT, CreateUser(user_id="u1", profile=PROFILE)),
        CreateUser,
        USERS_COMMANDS,
        RESOURCE,
    ),
    (
        "users.write replace",
        lambda o: o.users.write(TENANT, ReplaceUser(user_id="u1", profile=PROFILE, expected_version=2)),
        ReplaceUser,
        USERS_COMMANDS,
        RESOURCE,
    ),
    (
        "users.delete",
        lambda o: o.users.delete(TENANT, DeleteUser(user_id="u1")),
        DeleteUser,
        USERS_COMMANDS,
        RESOURCE,
    ),
    ("users.known", lambda o: o.users.known(TENANT, ["u1", "u2"]), FindUserIds, USERS_QUERIES, SPREAD),
    ("users.active", lambda o: o.users.active(TENANT), ListActiveUserIds, USERS_QUERIES, TENANT_ALONE),
    (
        "users.default_manager",
        lambda o: o.users.default_manager(TENANT),
        GetDefaultManager,
        USERS_QUERIES,
        TENANT_ALONE,
    ),
    (
        "users.choose_default_manager",
        lambda o: o.users.choose_default_manager(TENANT, "u1"),
        SetDefaultManager,
        USERS_COMMANDS,
        TENANT_ALONE,
    ),
    ("teams.get", lambda o: o.teams.get(TENANT, "t1", members=False), GetTeam, TEAMS_QUERIES, SPREAD),
    (
        "teams.list_groups",
        lambda o: o.teams.list_groups(TENANT, PARAMETERS, members=False),
        ListGroups,
        TEAMS_QUERIES,
        SPREAD,
    ),
    ("teams.list_teams", lambda o: o.teams.list_teams(TENANT, ListTeams()), ListTeams, TEAMS_QUERIES, SPREAD),
    *(
        (
            f"teams.write {type(command).__name__}",
            (lambda o, c=command: o.teams.write(TENANT, c)),
            type(command),
            TEAMS_COMMANDS,
            RESOURCE,
        )
        for command in (
            PushGroup(team_id="t1", display_name="Sales"),
            ReplaceGroup(team_id="t1", display_name="Sales"),
            PatchGroup(team_id="t1"),
            CreatePortalTeam(team_id="t1", display_name="Sales"),
            RenamePortalTeam(team_id="t1", display_name="Sales"),
            ChangePortalTeamMembers(team_id="t1", add=("u1",)),
            ReleaseTeam(team_id="t1"),
        )
    ),
    (
        "teams.delete group",
        lambda o: o.teams.delete(TENANT, DeleteGroup(team_id="t1")),
        DeleteGroup,
        TEAMS_COMMANDS,
        RESOURCE,
    ),
    (
        "teams.delete portal team",
        lambda o: o.teams.delete(TENANT, DeletePortalTeam(team_id="t1")),
        DeletePortalTeam,
        TEAMS_COMMANDS,
        RESOURCE,
    ),
    ("seats.usage", lambda o: o.seats.usage(TENANT), GetSeatUsage, SEATS_QUERIES, TENANT_ALONE),
    ("seats.set_limit", lambda o: o.seats.set_limit(TENANT, 9), SetSeatLimit, SEATS_COMMANDS, TENANT_ALONE),
    ("seats.holders", lambda o: o.seats.holders(TENANT), ListSeatHolders, SEATS_QUERIES, TENANT_ALONE),
    (
        "seats.tell reserve",
        lambda o: o.seats.tell(TENANT, ReserveSeat(user_id="u1")),
        ReserveSeat,
        SEATS_COMMANDS,
        TENANT_ALONE,
    ),
    (
        "seats.tell release",
        lambda o: o.seats.tell(TENANT, ReleaseSeat(user_id="u1")),
        ReleaseSeat,
        SEATS_COMMANDS,
        TENANT_ALONE,
    ),
]


def _resource_id(message: Any) -> str:
    return str(getattr(message, "user_id", None) or message.team_id)


@pytest.mark.parametrize(("name", "call", "kind", "topic", "keying"), CALLS, ids=[row[0] for row in CALLS])
async def test_every_call_publishes_on_its_owners_topic_with_its_key(
    name: str, call: Call, kind: type[Any], topic: str, keying: str
) -> None:
    wire = Wire()
    owners = Owners.over(wire)
    await call(owners)
    await call(owners)
    first, second = wire.published
    assert (type(first.message), first.topic, first.tenant) == (kind, topic, TENANT)
    if keying == RESOURCE:
        assert first.key == second.key == f"{TENANT}:{_resource_id(first.message)}".encode()
    elif keying == TENANT_ALONE:
        assert first.key == second.key == TENANT.encode()
    else:
        assert first.key.startswith(f"{TENANT}:".encode()) and first.key != second.key


def test_every_call_of_every_client_is_covered() -> None:
    public = {
        f"{client}.{name}"
        for client in ("users", "teams", "seats")
        for name in dir(getattr(Owners.over(Wire()), client))
        if not name.startswith("_") and name != "transport"
    }
    assert public == {row[0].split()[0] for row in CALLS}


async def test_list_queries_carry_the_neutral_parameters_to_each_owner() -> None:
    wire = Wire()
    owners = Owners.over(wire)
    await owners.users.list(TENANT, PARAMETERS)
    await owners.teams.list_groups(TENANT, PARAMETERS, members=False)
    users, groups = (published.message for published in wire.published)
    assert users == ListUsers(**PARAMETERS.model_dump())
    assert groups == ListGroups(**PARAMETERS.model_dump(), include_members=False)


async def test_a_large_member_check_is_asked_in_bounded_chunks_on_spread_keys() -> None:
    wire = Wire()
    ids = [str(i) for i in range(2 * IDS_PER_CHECK + 1)]
    assert await Owners.over(wire).users.known(TENANT, ids) == set(ids)
    asked = [published.message for published in wire.published]
    assert [len(m.user_ids) for m in asked if isinstance(m, FindUserIds)] == [IDS_PER_CHECK, IDS_PER_CHECK, 1]
    assert len({published.key for published in wire.published}) == 3


async def test_a_rejection_is_the_scim_error_of_its_reason() -> None:
    rejection = CommandRejected(reason=RejectionReason.USER_NAME_TAKEN, detail="userName taken")
    wire = Wire(answer=lambda _message: rejection)
    with pytest.raises(Refused) as caught:
        await Owners.over(wire).users.write(TENANT, CreateUser(user_id="u1", profile=PROFILE))
    assert (caught.value.status, caught.value.scim_type, caught.value.detail) == (
        409,
        "uniqueness",
        "userName taken",
    )
    assert caught.value.reason == RejectionReason.USER_NAME_TAKEN


async def test_an_unexpected_reply_is_a_500() -> None:
    wire = Wire(answer=lambda _message: USER_PAGE)
    with pytest.raises(SCIMException) as caught:
        await Owners.over(wire).users.get(TENANT, "u1")
    assert caught.value.status == 500
