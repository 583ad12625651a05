"""Which topic and which key every call to an owner publishes with, checked on the messages as they would
travel (answered with the owners' real reply types) against this table and against what
contracts/channels.py declares for each message."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest

from contracts import activity, channels, flows, seats, teams, topics, users
from contracts.listing import ListParameters
from services.gateway.owners import Owners
from services.gateway.tests.wire import Wire

TENANT = "acme"
PARAMETERS = ListParameters(filter='userName eq "ann"', start_index=3, count=7, sort_by="userName")
PROFILE = users.UserProfile(user_name="ann@example.com")
Call = Callable[[Owners], Awaitable[Any]]

RESOURCE = "the resource"  # <tenant>:<id>: one resource's messages stay in order
TENANT_ALONE = "the tenant"  # one tenant's seats (and default manager) are decided one at a time
SPREAD = "a fresh key"  # a query of its own: any partition

CALLS: list[tuple[str, Call, type[Any], str, str]] = [
    ("users.get", lambda o: o.users.get(TENANT, "u1"), users.GetUser, topics.USERS_QUERIES, RESOURCE),
    ("users.list", lambda o: o.users.list(TENANT, PARAMETERS), users.ListUsers, topics.USERS_QUERIES, SPREAD),
    (
        "users.write create",
        lambda o: o.users.write(TENANT, users.CreateUser(user_id="u1", profile=PROFILE)),
        users.CreateUser,
        topics.USERS_COMMANDS,
        RESOURCE,
    ),
    (
        "users.write replace",
        lambda o: o.users.write(TENANT, users.ReplaceUser(user_id="u1", profile=PROFILE, expected_version=2)),
        users.ReplaceUser,
        topics.USERS_COMMANDS,
        RESOURCE,
    ),
    (
        "users.delete",
        lambda o: o.users.delete(TENANT, users.DeleteUser(user_id="u1")),
        users.DeleteUser,
        topics.USERS_COMMANDS,
        RESOURCE,
    ),
    (
        "users.known",
        lambda o: o.users.known(TENANT, ["u1", "u2"]),
        users.FindUserIds,
        topics.USERS_QUERIES,
        SPREAD,
    ),
    (
        "users.active",
        lambda o: o.users.active(TENANT),
        users.ListActiveUserIds,
        topics.USERS_QUERIES,
        TENANT_ALONE,
    ),
    (
        "users.default_manager",
        lambda o: o.users.default_manager(TENANT),
        users.GetDefaultManager,
        topics.USERS_QUERIES,
        TENANT_ALONE,
    ),
    (
        "users.choose_default_manager",
        lambda o: o.users.choose_default_manager(TENANT, "u1"),
        users.SetDefaultManager,
        topics.USERS_COMMANDS,
        TENANT_ALONE,
    ),
    (
        "teams.get",
        lambda o: o.teams.get(TENANT, "t1", members=False),
        teams.GetTeam,
        topics.TEAMS_QUERIES,
        SPREAD,
    ),
    (
        "teams.list_groups",
        lambda o: o.teams.list_groups(TENANT, PARAMETERS, members=False),
        teams.ListGroups,
        topics.TEAMS_QUERIES,
        SPREAD,
    ),
    (
        "teams.list_teams",
        lambda o: o.teams.list_teams(TENANT, teams.ListTeams()),
        teams.ListTeams,
        topics.TEAMS_QUERIES,
        SPREAD,
    ),
    *(
        (
            f"teams.write {type(command).__name__}",
            (lambda o, c=command: o.teams.write(TENANT, c)),
            type(command),
            topics.TEAMS_COMMANDS,
            RESOURCE,
        )
        for command in (
            teams.PushGroup(team_id="t1", display_name="Sales"),
            teams.ReplaceGroup(team_id="t1", display_name="Sales"),
            teams.PatchGroup(team_id="t1"),
            teams.CreatePortalTeam(team_id="t1", display_name="Sales"),
            teams.RenamePortalTeam(team_id="t1", display_name="Sales"),
            teams.ChangePortalTeamMembers(team_id="t1", add=("u1",)),
            teams.ReleaseTeam(team_id="t1"),
        )
    ),
    (
        "teams.delete group",
        lambda o: o.teams.delete(TENANT, teams.DeleteGroup(team_id="t1")),
        teams.DeleteGroup,
        topics.TEAMS_COMMANDS,
        RESOURCE,
    ),
    (
        "teams.delete portal team",
        lambda o: o.teams.delete(TENANT, teams.DeletePortalTeam(team_id="t1")),
        teams.DeletePortalTeam,
        topics.TEAMS_COMMANDS,
        RESOURCE,
    ),
    ("seats.usage", lambda o: o.seats.usage(TENANT), seats.GetSeatUsage, topics.SEATS_QUERIES, TENANT_ALONE),
    (
        "seats.set_limit",
        lambda o: o.seats.set_limit(TENANT, 9),
        seats.SetSeatLimit,
        topics.SEATS_COMMANDS,
        TENANT_ALONE,
    ),
    (
        "seats.holders",
        lambda o: o.seats.holders(TENANT),
        seats.ListSeatHolders,
        topics.SEATS_QUERIES,
        TENANT_ALONE,
    ),
    (
        "seats.recall_allowance",
        lambda o: o.seats.recall_allowance(TENANT),
        seats.RecallSeatAllowance,
        topics.SEATS_COMMANDS,
        TENANT_ALONE,
    ),
    (
        "users.reconcile_seat",
        lambda o: o.users.reconcile_seat(TENANT, "u1"),
        users.ReconcileSeat,
        topics.USERS_COMMANDS,
        RESOURCE,
    ),
    (
        "teams.members",
        lambda o: drain(o.teams.members(TENANT, "t1")),
        teams.ListTeamMembers,
        topics.TEAMS_QUERIES,
        SPREAD,
    ),
    (
        "activity.list",
        lambda o: o.activity.list(TENANT, activity.ListActivity(user="ann@example.com")),
        activity.ListActivity,
        topics.ACTIVITY_QUERIES,
        SPREAD,
    ),
]


async def drain(pages: AsyncIterator[Sequence[Any]]) -> list[Any]:
    return [item async for page in pages for item in page]


def _resource_id(message: Any) -> str:
    return str(getattr(message, "user_id", None) or message.team_id)


def _declared(kind: type[Any]) -> tuple[str, tuple[channels.KeyFormat, ...]]:
    [channel] = [channel for channel in channels.CHANNELS if kind in channel.messages]
    return channel.address, channel.messages[kind]


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
    declared_topic, key_formats = _declared(kind)
    assert declared_topic == topic
    assert any(re.match(key_format.pattern, first.key.decode()) for key_format in key_formats)


def test_every_command_and_query_the_gateway_sends_has_a_call() -> None:
    sent = {
        message
        for flow in flows.FLOWS
        if flow.process is channels.Process.GATEWAY
        and flow.action is flows.Action.SEND
        # The request outcomes are published by services/gateway/outcomes.py, never asked of an owner.
        and flow.channel is not channels.GATEWAY_OUTCOMES
        for message in flow.messages
    }
    assert sent == {row[2] for row in CALLS}


async def test_what_is_published_without_waiting_is_what_flows_call_unanswered() -> None:
    """The reply-timeout counters are made for every other command and query the gateway sends."""
    wire = Wire()
    owners = Owners.over(wire)
    for _name, call, *_ in CALLS:
        await call(owners)
    assert set(wire.told) == flows.UNANSWERED


def test_every_call_of_every_client_is_covered() -> None:
    public = {
        f"{client}.{name}"
        for client in ("users", "teams", "seats", "activity")
        for name in dir(getattr(Owners.over(Wire()), client))
        if not name.startswith("_") and name != "transport"
    }
    assert public == {row[0].split()[0] for row in CALLS}
