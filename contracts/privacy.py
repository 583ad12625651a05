"""Which messages carry personal data, for whoever stores, logs or forwards them (docs/events.md)."""

from __future__ import annotations

from enum import StrEnum

from contracts import activity, replies, seats, teams, users
from contracts.envelope import Message


class PersonalData(StrEnum):
    NONE = "none"
    IDENTIFIERS = "identifiers"
    """Only Roster's opaque user ids: pseudonymous, personal once joined with a user's profile."""
    PROFILE = "profile"
    """Names, userNames, emails, phone numbers, addresses, titles, manager references as the IdP sent."""


_PROFILE: dict[type[Message], str] = {
    users.CreateUser: "the user's profile",
    users.ReplaceUser: "the user's profile",
    users.UserReply: "the user's profile",
    users.UserPage: "the users' profiles",
    users.UserCreated: "the user's profile",
    users.UserUpdated: "the user's profile",
    users.ListUsers: "the filter may name a userName or an email",
    teams.TeamReply: "members' userNames; a manager team is named after its manager",
    teams.TeamPage: "members' userNames; a manager team is named after its manager",
    teams.TeamMembers: "members' userNames",
    teams.TeamCreated: "a manager team is named after its manager",
    teams.TeamRenamed: "a manager team is named after its manager",
    replies.CommandRejected: "the detail may quote a userName",
    activity.RequestOutcome: "the userName or group name the request named; its error detail",
    activity.ListActivity: "the user filter may be a userName",
    activity.ActivityPage: "userNames and group names, error details",
}
_NONE: frozenset[type[Message]] = frozenset(
    {
        users.GetDefaultManager,
        teams.DeleteGroup,
        teams.RenamePortalTeam,
        teams.DeletePortalTeam,
        teams.ReleaseTeam,
        teams.GetTeam,
        teams.ListTeams,
        teams.TeamLinked,
        teams.TeamUnlinked,
        teams.TeamDeleted,
        seats.SetSeatLimit,
        seats.RecallSeatAllowance,
        seats.GetSeatUsage,
        seats.SeatUsage,
        seats.SeatLimitReached,
        seats.SeatLimitChanged,
    }
)


def personal_data(message: type[Message]) -> PersonalData:
    """Every other message names users by their opaque id only (``IDENTIFIERS``)."""
    if message in _PROFILE:
        return PersonalData.PROFILE
    if message in _NONE:
        return PersonalData.NONE
    return PersonalData.IDENTIFIERS


def why_personal(message: type[Message]) -> str | None:
    """What in a ``PROFILE`` message is personal."""
    return _PROFILE.get(message)
