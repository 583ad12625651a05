"""Where every message travels: its topic and its record key (which process sends or receives it:
``contracts/flows.py``).

Pure data: the message registry (``contracts/registry.py``) and the events reference
(``contracts/asyncapi.py``) are built from it. What each service consumes is wired in its ``app.py``
(``ServiceDefinition.subscriptions`` and ``listens``).
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
            seats.RecallSeatAllowance,
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
