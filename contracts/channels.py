"""Where every message travels: its topic, its record key, and which Roster process sends or receives it.

Pure data: the message registry (``contracts/registry.py``) and the events reference
(``contracts/asyncapi.py``) are built from it. What each service consumes is wired in its ``app.py``
(``ServiceDefinition.subscriptions`` and ``listens``); contracts/tests/test_asyncapi.py checks the
receiving side of this table against that wiring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from contracts import activity, replies, seats, teams, topics, users
from contracts.envelope import Message


@dataclass(frozen=True)
class KeyFormat:
    """How a record key is made (``contracts/topics.py``), and what it orders."""

    template: str
    pattern: str  # a regular expression for the key's UTF-8 text
    orders: str


USER = KeyFormat("<tenant>:<user id>", r"^[^:]+:.+$", "every message about one user, in commit order")
TEAM = KeyFormat("<tenant>:<team id>", r"^[^:]+:.+$", "every message about one team, in commit order")
TENANT = KeyFormat("<tenant>", r"^[^:]+$", "every message of this kind for one tenant")
SPREAD = KeyFormat(
    "<tenant>:<random hex>", r"^[^:]+:[0-9a-f]{32}$", "nothing: a fresh key per query spreads reads"
)
CORRELATION = KeyFormat("<correlation id>", r"^[0-9a-f-]{36}$", "nothing (one reader, one partition)")


class Kind(StrEnum):
    COMMANDS = "commands"
    QUERIES = "queries"
    EVENTS = "events"
    REPLIES = "replies"


class Process(StrEnum):
    GATEWAY = "gateway"
    USERS = "users"
    TEAMS = "teams"
    SEATS = "seats"
    ACTIVITY = "activity"


@dataclass(frozen=True)
class Channel:
    id: str
    address: str
    owner: Process
    kind: Kind
    messages: Mapping[type[Message], tuple[KeyFormat, ...]]


def _channel(
    id: str, address: str, owner: Process, kind: Kind, keyed: Mapping[type[Message], KeyFormat]
) -> Channel:
    return Channel(id, address, owner, kind, {message: (key,) for message, key in keyed.items()})


USERS_COMMANDS = _channel(
    "usersCommands",
    topics.USERS_COMMANDS,
    Process.USERS,
    Kind.COMMANDS,
    {
        users.CreateUser: USER,
        users.ReplaceUser: USER,
        users.DeleteUser: USER,
        users.ReconcileSeat: USER,
        users.SetDefaultManager: TENANT,
    },
)
USERS_QUERIES = _channel(
    "usersQueries",
    topics.USERS_QUERIES,
    Process.USERS,
    Kind.QUERIES,
    {
        users.GetUser: USER,
        users.ListUsers: SPREAD,
        users.ListActiveUserIds: TENANT,
        users.FindUserIds: SPREAD,
        users.GetDefaultManager: TENANT,
    },
)
USER_EVENTS: tuple[type[Message], ...] = (
    users.UserCreated,
    users.UserUpdated,
    users.UserDeactivated,
    users.UserReactivated,
    users.UserDeleted,
    users.UserManagerChanged,
)
USERS_EVENTS = _channel(
    "usersEvents",
    topics.USERS_EVENTS,
    Process.USERS,
    Kind.EVENTS,
    {**dict.fromkeys(USER_EVENTS, USER), users.DefaultManagerChanged: TENANT},
)
TEAM_COMMANDS: tuple[type[Message], ...] = (
    teams.PushGroup,
    teams.ReplaceGroup,
    teams.PatchGroup,
    teams.DeleteGroup,
    teams.CreatePortalTeam,
    teams.RenamePortalTeam,
    teams.ChangePortalTeamMembers,
    teams.DeletePortalTeam,
    teams.ReleaseTeam,
)
TEAMS_COMMANDS = _channel(
    "teamsCommands", topics.TEAMS_COMMANDS, Process.TEAMS, Kind.COMMANDS, dict.fromkeys(TEAM_COMMANDS, TEAM)
)
TEAMS_QUERIES = _channel(
    "teamsQueries",
    topics.TEAMS_QUERIES,
    Process.TEAMS,
    Kind.QUERIES,
    dict.fromkeys((teams.GetTeam, teams.ListTeamMembers, teams.ListGroups, teams.ListTeams), SPREAD),
)
TEAM_EVENTS: tuple[type[Message], ...] = (
    teams.TeamCreated,
    teams.TeamLinked,
    teams.TeamUnlinked,
    teams.TeamRenamed,
    teams.TeamMembersChanged,
    teams.TeamDeleted,
)
TEAMS_EVENTS = _channel(
    "teamsEvents", topics.TEAMS_EVENTS, Process.TEAMS, Kind.EVENTS, dict.fromkeys(TEAM_EVENTS, TEAM)
)
SEATS_COMMANDS = _channel(
    "seatsCommands",
    topics.SEATS_COMMANDS,
    Process.SEATS,
    Kind.COMMANDS,
    dict.fromkeys(
        (
            seats.ReserveSeat,
            seats.ReleaseSeat,
            seats.TakeAllowedSeat,
            seats.ReturnSeatAllowance,
            seats.SetSeatLimit,
        ),
        TENANT,
    ),
)
SEATS_QUERIES = _channel(
    "seatsQueries",
    topics.SEATS_QUERIES,
    Process.SEATS,
    Kind.QUERIES,
    dict.fromkeys((seats.GetSeatUsage, seats.ListSeatHolders), TENANT),
)
# One tenant's seat events in the order they were decided: the users service must hear of an
# allowance granted before a later refusal, and of every grant before a recall (docs/architecture.md §4).
SEATS_EVENTS = _channel(
    "seatsEvents",
    topics.SEATS_EVENTS,
    Process.SEATS,
    Kind.EVENTS,
    dict.fromkeys(
        (
            seats.SeatReserved,
            seats.SeatDenied,
            seats.SeatReleased,
            seats.SeatLimitReached,
            seats.SeatLimitChanged,
            seats.SeatAllowanceGranted,
            seats.SeatAllowanceRecalled,
        ),
        TENANT,
    ),
)
GATEWAY_OUTCOMES = _channel(
    "gatewayOutcomes",
    topics.GATEWAY_OUTCOMES,
    Process.GATEWAY,
    Kind.EVENTS,
    {activity.RequestOutcome: TENANT},
)
ACTIVITY_QUERIES = _channel(
    "activityQueries",
    topics.ACTIVITY_QUERIES,
    Process.ACTIVITY,
    Kind.QUERIES,
    {activity.ListActivity: SPREAD},
)
REPLIES: tuple[type[Message], ...] = (
    users.UserReply,
    users.UserPage,
    users.UserIds,
    users.DefaultManager,
    teams.TeamReply,
    teams.TeamMembers,
    teams.TeamPage,
    seats.SeatUsage,
    seats.SeatHolders,
    activity.ActivityPage,
    replies.Deleted,
    replies.CommandRejected,
)
GATEWAY_REPLIES = _channel(
    "gatewayReplies",
    topics.gateway_reply_topic("{instance}"),
    Process.GATEWAY,
    Kind.REPLIES,
    dict.fromkeys(REPLIES, CORRELATION),
)

DURABLE_CHANNELS: tuple[Channel, ...] = (
    USERS_COMMANDS,
    USERS_QUERIES,
    USERS_EVENTS,
    TEAMS_COMMANDS,
    TEAMS_QUERIES,
    TEAMS_EVENTS,
    SEATS_COMMANDS,
    SEATS_QUERIES,
    SEATS_EVENTS,
    GATEWAY_OUTCOMES,
    ACTIVITY_QUERIES,
)
"""Every topic with a dead-letter topic beside it (a gateway's reply topic has none)."""
CHANNELS: tuple[Channel, ...] = (*DURABLE_CHANNELS, GATEWAY_REPLIES)


class Action(StrEnum):
    SEND = "send"
    RECEIVE = "receive"


@dataclass(frozen=True)
class Flow:
    """One process sending or receiving some of a channel's messages. ``replies``: what a receiver
    answers on the requester's ``reply_to`` topic (every receiver may answer CommandRejected)."""

    process: Process
    action: Action
    channel: Channel
    messages: tuple[type[Message], ...]
    replies: tuple[type[Message], ...] = ()


def _all(channel: Channel) -> tuple[type[Message], ...]:
    return tuple(channel.messages)


_REJECTED = replies.CommandRejected
FLOWS: tuple[Flow, ...] = (
    # The gateway turns each SCIM or admin request into one command or query and waits for the reply.
    Flow(Process.GATEWAY, Action.SEND, USERS_COMMANDS, _all(USERS_COMMANDS)),
    Flow(Process.GATEWAY, Action.SEND, USERS_QUERIES, _all(USERS_QUERIES)),
    Flow(Process.GATEWAY, Action.SEND, TEAMS_COMMANDS, _all(TEAMS_COMMANDS)),
    Flow(Process.GATEWAY, Action.SEND, TEAMS_QUERIES, _all(TEAMS_QUERIES)),
    # The seat limit; reconcile repairs go to the users service (ReconcileSeat), which owns the rule.
    Flow(Process.GATEWAY, Action.SEND, SEATS_COMMANDS, (seats.SetSeatLimit,)),
    Flow(Process.GATEWAY, Action.SEND, SEATS_QUERIES, _all(SEATS_QUERIES)),
    Flow(Process.GATEWAY, Action.SEND, ACTIVITY_QUERIES, _all(ACTIVITY_QUERIES)),
    # Every SCIM request's outcome, published after it was answered (docs/architecture.md).
    Flow(Process.GATEWAY, Action.SEND, GATEWAY_OUTCOMES, _all(GATEWAY_OUTCOMES)),
    Flow(Process.GATEWAY, Action.RECEIVE, GATEWAY_REPLIES, _all(GATEWAY_REPLIES)),
    Flow(
        Process.USERS,
        Action.RECEIVE,
        USERS_COMMANDS,
        _all(USERS_COMMANDS),
        (users.UserReply, replies.Deleted, users.DefaultManager, _REJECTED),  # ReconcileSeat: none
    ),
    Flow(
        Process.USERS,
        Action.RECEIVE,
        USERS_QUERIES,
        _all(USERS_QUERIES),
        (users.UserReply, users.UserPage, users.UserIds, users.DefaultManager, _REJECTED),
    ),
    Flow(Process.USERS, Action.SEND, USERS_EVENTS, _all(USERS_EVENTS)),
    # The seat saga, the seats spent of the allowance, and the allowance given back when recalled.
    Flow(
        Process.USERS,
        Action.SEND,
        SEATS_COMMANDS,
        (seats.ReserveSeat, seats.ReleaseSeat, seats.TakeAllowedSeat, seats.ReturnSeatAllowance),
    ),
    # The saga's end: the create or reactivation waiting for its seat is answered now. And the
    # allowance: granted, or recalled by a lower limit (docs/architecture.md §4).
    Flow(
        Process.USERS,
        Action.RECEIVE,
        SEATS_EVENTS,
        (seats.SeatReserved, seats.SeatDenied, seats.SeatAllowanceGranted, seats.SeatAllowanceRecalled),
        (users.UserReply, _REJECTED),
    ),
    Flow(
        Process.TEAMS,
        Action.RECEIVE,
        TEAMS_COMMANDS,
        _all(TEAMS_COMMANDS),
        (teams.TeamReply, replies.Deleted, _REJECTED),
    ),
    Flow(
        Process.TEAMS,
        Action.RECEIVE,
        TEAMS_QUERIES,
        _all(TEAMS_QUERIES),
        (teams.TeamReply, teams.TeamMembers, teams.TeamPage, _REJECTED),
    ),
    Flow(Process.TEAMS, Action.SEND, TEAMS_EVENTS, _all(TEAMS_EVENTS)),
    # The teams service's view of users, and the manager teams it derives from it.
    Flow(Process.TEAMS, Action.RECEIVE, USERS_EVENTS, USER_EVENTS),
    Flow(Process.SEATS, Action.RECEIVE, SEATS_COMMANDS, _all(SEATS_COMMANDS), (seats.SeatUsage, _REJECTED)),
    Flow(
        Process.SEATS,
        Action.RECEIVE,
        SEATS_QUERIES,
        _all(SEATS_QUERIES),
        (seats.SeatUsage, seats.SeatHolders, _REJECTED),
    ),
    Flow(Process.SEATS, Action.SEND, SEATS_EVENTS, _all(SEATS_EVENTS)),
    # The activity log: every event and every request outcome, kept per tenant for its retention.
    Flow(Process.ACTIVITY, Action.RECEIVE, USERS_EVENTS, _all(USERS_EVENTS)),
    Flow(Process.ACTIVITY, Action.RECEIVE, TEAMS_EVENTS, _all(TEAMS_EVENTS)),
    Flow(Process.ACTIVITY, Action.RECEIVE, SEATS_EVENTS, _all(SEATS_EVENTS)),
    Flow(Process.ACTIVITY, Action.RECEIVE, GATEWAY_OUTCOMES, _all(GATEWAY_OUTCOMES)),
    Flow(
        Process.ACTIVITY,
        Action.RECEIVE,
        ACTIVITY_QUERIES,
        _all(ACTIVITY_QUERIES),
        (activity.ActivityPage, _REJECTED),
    ),
)
