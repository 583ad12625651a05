"""Which Roster process sends or receives which messages of each channel (``contracts/channels.py``):
the events reference (``contracts/asyncapi.py``) is built from it, and contracts/tests/test_asyncapi.py
checks its receiving side against each service's wiring."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts import activity, replies, seats, teams, users
from contracts.channels import (
    ACTIVITY_QUERIES,
    GATEWAY_OUTCOMES,
    GATEWAY_REPLIES,
    SEATS_COMMANDS,
    SEATS_EVENTS,
    SEATS_QUERIES,
    TEAMS_COMMANDS,
    TEAMS_EVENTS,
    TEAMS_QUERIES,
    USER_EVENTS,
    USERS_COMMANDS,
    USERS_EVENTS,
    USERS_QUERIES,
    Channel,
    Process,
)
from contracts.envelope import Message


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
UNANSWERED: frozenset[type[Message]] = frozenset({users.ReconcileSeat, seats.RecallSeatAllowance})
"""What the gateway publishes without waiting: its receiver answers nothing, so no reply times out."""
FLOWS: tuple[Flow, ...] = (
    # The gateway turns each SCIM or admin request into one command or query and waits for the reply.
    Flow(Process.GATEWAY, Action.SEND, USERS_COMMANDS, _all(USERS_COMMANDS)),
    Flow(Process.GATEWAY, Action.SEND, USERS_QUERIES, _all(USERS_QUERIES)),
    Flow(Process.GATEWAY, Action.SEND, TEAMS_COMMANDS, _all(TEAMS_COMMANDS)),
    Flow(Process.GATEWAY, Action.SEND, TEAMS_QUERIES, _all(TEAMS_QUERIES)),
    # The seat limit; reconcile repairs go to the users service (ReconcileSeat), which owns the rule.
    Flow(Process.GATEWAY, Action.SEND, SEATS_COMMANDS, (seats.SetSeatLimit, seats.RecallSeatAllowance)),
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
        (users.UserReply, replies.Deleted, users.DefaultManager, _REJECTED),  # UNANSWERED: none
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

_CONSUMING = [flow for flow in FLOWS if flow.action is Action.RECEIVE and flow.process is not Process.GATEWAY]
DEAD_LETTER_SOURCES = sorted({flow.channel.address for flow in _CONSUMING})
"""Every topic a service consumes, and so may set a message of aside on ``<topic>.dlq``."""
DEAD_LETTERING_SERVICES = sorted({flow.process.value for flow in _CONSUMING})
"""The services that may set a message aside (a dead letter's ``x-dead-lettered-by``)."""
