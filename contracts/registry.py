"""Every message type by name: the single place a consumer turns an envelope into a payload."""

from __future__ import annotations

from contracts import replies, seats, teams, users
from contracts.envelope import Envelope, Message

ALL_MESSAGES: tuple[type[Message], ...] = (
    users.CreateUser,
    users.ReplaceUser,
    users.DeleteUser,
    users.GetUser,
    users.ListUsers,
    users.ListActiveUserIds,
    users.UserIds,
    users.UserReply,
    users.UserPage,
    users.UserCreated,
    users.UserUpdated,
    users.UserDeactivated,
    users.UserReactivated,
    users.UserDeleted,
    users.SetDefaultManager,
    users.FindUserIds,
    users.GetDefaultManager,
    users.DefaultManager,
    users.UserManagerChanged,
    users.DefaultManagerChanged,
    teams.PushGroup,
    teams.ReplaceGroup,
    teams.PatchGroup,
    teams.DeleteGroup,
    teams.CreatePortalTeam,
    teams.RenamePortalTeam,
    teams.ChangePortalTeamMembers,
    teams.DeletePortalTeam,
    teams.ReleaseTeam,
    teams.GetTeam,
    teams.ListGroups,
    teams.ListTeams,
    teams.TeamReply,
    teams.TeamPage,
    teams.TeamCreated,
    teams.TeamLinked,
    teams.TeamUnlinked,
    teams.TeamRenamed,
    teams.TeamMembersChanged,
    teams.TeamDeleted,
    seats.ReserveSeat,
    seats.ReleaseSeat,
    seats.SetSeatLimit,
    seats.GetSeatUsage,
    seats.ListSeatHolders,
    seats.SeatUsage,
    seats.SeatHolders,
    seats.SeatReserved,
    seats.SeatDenied,
    seats.SeatReleased,
    seats.SeatLimitReached,
    seats.SeatLimitChanged,
    replies.Deleted,
    replies.CommandRejected,
)

MESSAGE_TYPES: dict[str, type[Message]] = {m.type_name(): m for m in ALL_MESSAGES}


class UnknownMessageType(ValueError):
    pass


def payload_of(envelope: Envelope) -> Message:
    """Validate the payload against its declared type; raises on unknown types or bad data."""
    message_type = MESSAGE_TYPES.get(envelope.type)
    if message_type is None:
        raise UnknownMessageType(f"unknown message type {envelope.type!r}")
    return message_type.model_validate(envelope.payload)
