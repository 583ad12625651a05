"""A stand-in for Kafka at the gateway's edge: what the owners' clients publish is kept as it would travel
(a registered contract in an envelope, its topic and key), and each request is answered with a reply of
the owner's real contract type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts import activity, seats, teams, users
from contracts.envelope import Message, wrap
from contracts.registry import payload_of
from contracts.replies import Deleted

NOW = datetime(2026, 11, 22, tzinfo=UTC)
USER = users.UserRecord(
    id="u1", profile=users.UserProfile(user_name="ann@example.com"), created=NOW, last_modified=NOW, version=3
)
TEAM = teams.TeamRecord(
    id="t1",
    display_name="Sales West",
    source=teams.TeamSource.SCIM,
    linked=True,
    member_count=0,
    members=(),
    created=NOW,
    last_modified=NOW,
    version=2,
)
USER_PAGE = users.UserPage(total_results=1, start_index=1, users=(USER,))
TEAM_PAGE = teams.TeamPage(total_results=1, start_index=1, teams=(TEAM,))
MANAGER = users.DefaultManager(chosen_id=None, first_coach_id=None, effective_id=None)

_ANSWERS: dict[type[Message], Callable[[Message], Message]] = {
    users.GetUser: lambda _: users.UserReply(user=USER),
    users.ListUsers: lambda _: USER_PAGE,
    users.CreateUser: lambda _: users.UserReply(user=USER),
    users.ReplaceUser: lambda _: users.UserReply(user=USER),
    users.DeleteUser: lambda m: Deleted(resource_id=m.user_id if isinstance(m, users.DeleteUser) else ""),
    users.FindUserIds: lambda m: users.UserIds(
        user_ids=m.user_ids if isinstance(m, users.FindUserIds) else ()
    ),
    users.ListActiveUserIds: lambda _: users.UserIds(user_ids=("u1",)),
    users.GetDefaultManager: lambda _: MANAGER,
    activity.ListActivity: lambda _: activity.ActivityPage(entries=()),
    users.SetDefaultManager: lambda _: MANAGER,
    teams.GetTeam: lambda _: teams.TeamReply(team=TEAM),
    teams.ListGroups: lambda _: TEAM_PAGE,
    teams.ListTeamMembers: lambda _: teams.TeamMembers(members=(teams.TeamMember(user_id="u1"),)),
    teams.ListTeams: lambda _: TEAM_PAGE,
    teams.DeleteGroup: lambda _: Deleted(resource_id="t1"),
    teams.DeletePortalTeam: lambda _: Deleted(resource_id="t1"),
    seats.GetSeatUsage: lambda _: seats.SeatUsage(used=1, limit=5),
    seats.SetSeatLimit: lambda _: seats.SeatUsage(used=1, limit=5),
    seats.ListSeatHolders: lambda _: seats.SeatHolders(user_ids=("u1",)),
    **dict.fromkeys(
        (
            teams.PushGroup,
            teams.ReplaceGroup,
            teams.PatchGroup,
            teams.CreatePortalTeam,
            teams.RenamePortalTeam,
            teams.ChangePortalTeamMembers,
            teams.ReleaseTeam,
        ),
        lambda _: teams.TeamReply(team=TEAM),
    ),
}


@dataclass(frozen=True)
class Published:
    message: Message
    tenant: str
    topic: str
    key: bytes


@dataclass
class Wire:
    """``answer`` overrides the owner's usual reply for a message (a rejection, say)."""

    answer: Callable[[Message], Message | None] = lambda _message: None
    published: list[Published] = field(default_factory=list)
    told: list[type[Message]] = field(default_factory=list)
    on_ask: Callable[[], None] = lambda: None

    def _publish(self, message: Message, tenant: str, topic: str, key: bytes) -> None:
        travelled = payload_of(wrap(message, tenant=tenant, producer="gateway"))  # a registered contract
        self.published.append(Published(travelled, tenant, topic, key))

    async def ask(self, message: Message, *, tenant: str, topic: str, key: bytes) -> Message:
        self._publish(message, tenant, topic, key)
        self.on_ask()
        return self.answer(message) or _ANSWERS[type(message)](message)

    async def tell(self, message: Message, *, tenant: str, topic: str, key: bytes) -> None:
        self._publish(message, tenant, topic, key)
        self.told.append(type(message))
