"""A stand-in for Kafka at the gateway's edge: what the owners' clients publish is kept as it would travel
(a registered contract in an envelope, its topic and key), and each request is answered with a reply of
the owner's real contract type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts.envelope import Message, wrap
from contracts.registry import payload_of
from contracts.replies import Deleted
from contracts.seats import GetSeatUsage, ListSeatHolders, SeatHolders, SeatUsage, SetSeatLimit
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
    TeamPage,
    TeamRecord,
    TeamReply,
    TeamSource,
)
from contracts.users import (
    CreateUser,
    DefaultManager,
    DeleteUser,
    FindUserIds,
    GetDefaultManager,
    GetUser,
    ListActiveUserIds,
    ListUsers,
    ReplaceUser,
    SetDefaultManager,
    UserIds,
    UserPage,
    UserProfile,
    UserRecord,
    UserReply,
)

NOW = datetime(2026, 11, 22, tzinfo=UTC)
USER = UserRecord(
    id="u1", profile=UserProfile(user_name="ann@example.com"), created=NOW, last_modified=NOW, version=3
)
TEAM = TeamRecord(
    id="t1",
    display_name="Sales West",
    source=TeamSource.SCIM,
    linked=True,
    member_count=0,
    members=(),
    created=NOW,
    last_modified=NOW,
    version=2,
)
USER_PAGE = UserPage(total_results=1, start_index=1, users=(USER,))
TEAM_PAGE = TeamPage(total_results=1, start_index=1, teams=(TEAM,))
MANAGER = DefaultManager(chosen_id=None, first_coach_id=None, effective_id=None)

_ANSWERS: dict[type[Message], Callable[[Message], Message]] = {
    GetUser: lambda _: UserReply(user=USER),
    ListUsers: lambda _: USER_PAGE,
    CreateUser: lambda _: UserReply(user=USER),
    ReplaceUser: lambda _: UserReply(user=USER),
    DeleteUser: lambda m: Deleted(resource_id=m.user_id if isinstance(m, DeleteUser) else ""),
    FindUserIds: lambda m: UserIds(user_ids=m.user_ids if isinstance(m, FindUserIds) else ()),
    ListActiveUserIds: lambda _: UserIds(user_ids=("u1",)),
    GetDefaultManager: lambda _: MANAGER,
    SetDefaultManager: lambda _: MANAGER,
    GetTeam: lambda _: TeamReply(team=TEAM),
    ListGroups: lambda _: TEAM_PAGE,
    ListTeams: lambda _: TEAM_PAGE,
    DeleteGroup: lambda _: Deleted(resource_id="t1"),
    DeletePortalTeam: lambda _: Deleted(resource_id="t1"),
    GetSeatUsage: lambda _: SeatUsage(used=1, limit=5),
    SetSeatLimit: lambda _: SeatUsage(used=1, limit=5),
    ListSeatHolders: lambda _: SeatHolders(user_ids=("u1",)),
    **dict.fromkeys(
        (
            PushGroup,
            ReplaceGroup,
            PatchGroup,
            CreatePortalTeam,
            RenamePortalTeam,
            ChangePortalTeamMembers,
            ReleaseTeam,
        ),
        lambda _: TeamReply(team=TEAM),
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
