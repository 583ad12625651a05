"""The owning services as the gateway speaks to them: one client per owner (users, teams, seats,
activity).

Every message goes to the topic ``contracts/channels.py`` declares for it, under a key of the form
declared there, and that is looked up here and nowhere else. A key is an ordering guarantee: the
messages that share one are handled one after another.

* A user's or a team's commands, and a user's reads: ``<tenant>:<id>``, so they stay in order.
* List queries, member checks and team reads: a fresh key per query, which spreads one large tenant's
  reads over every partition.
* Seats and the default manager: the tenant alone, so one tenant's seats are counted one at a time
  and its default-manager choices stay in order.

Replies come back as the expected message; a rejection raises ``Refused`` (its SCIM error).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar
from uuid import uuid4

from contracts import channels
from contracts.activity import ActivityPage, ListActivity
from contracts.envelope import Message
from contracts.listing import IDS_PER_PAGE, ListParameters
from contracts.replies import CommandRejected, Deleted
from contracts.seats import (
    GetSeatUsage,
    ListSeatHolders,
    RecallSeatAllowance,
    SeatHolders,
    SeatUsage,
    SetSeatLimit,
)
from contracts.teams import (
    ChangePortalTeamMembers,
    CreatePortalTeam,
    DeleteGroup,
    DeletePortalTeam,
    GetTeam,
    ListGroups,
    ListTeamMembers,
    ListTeams,
    PatchGroup,
    PushGroup,
    ReleaseTeam,
    RenamePortalTeam,
    ReplaceGroup,
    TeamMember,
    TeamMembers,
    TeamPage,
    TeamRecord,
    TeamReply,
)
from contracts.topics import resource_key, tenant_key
from contracts.users import (
    CreateUser,
    DefaultManager,
    DeleteUser,
    FindUserIds,
    GetDefaultManager,
    GetUser,
    ListActiveUserIds,
    ListUsers,
    ReconcileSeat,
    ReplaceUser,
    SetDefaultManager,
    UserIds,
    UserPage,
    UserRecord,
    UserReply,
)
from services.gateway.http.errors import Refused, error_with_status

IDS_PER_CHECK = 5_000  # ids per FindUserIds: a bounded message, the chunks asked concurrently

Expected = TypeVar("Expected", bound=Message)
Item = TypeVar("Item")
TeamWrite = (
    PushGroup
    | ReplaceGroup
    | PatchGroup
    | CreatePortalTeam
    | RenamePortalTeam
    | ChangePortalTeamMembers
    | ReleaseTeam
)
_SENT: dict[type[Message], channels.Channel] = {
    message: channel
    for channel in channels.CHANNELS
    if channel.kind in (channels.Kind.COMMANDS, channels.Kind.QUERIES)
    for message in channel.messages
}
"""The channel of every command and query: its topic, and the form of its key."""


class Transport(Protocol):
    """Request/reply over Kafka (``http.correlator.Requester``)."""

    async def ask(self, message: Message, *, tenant: str, topic: str, key: bytes) -> Message: ...

    async def tell(self, message: Message, *, tenant: str, topic: str, key: bytes) -> None: ...


def route(message: Message, tenant: str, about: str | None = None) -> tuple[str, bytes]:
    """The topic and the key of a message; ``about`` is the user or team a per-resource key names."""
    channel = _SENT[type(message)]
    key_format = channel.messages[type(message)][0]
    if key_format is channels.TENANT:
        return channel.address, tenant_key(tenant)
    if key_format is channels.SPREAD:
        return channel.address, resource_key(tenant, uuid4().hex)
    assert key_format in (channels.USER, channels.TEAM) and about is not None, type(message)
    return channel.address, resource_key(tenant, about)


def expect(reply: Message, expected: type[Expected]) -> Expected:
    if isinstance(reply, CommandRejected):
        raise Refused(reply)
    if not isinstance(reply, expected):
        raise error_with_status(500, f"Unexpected reply {reply.type_name()}; please retry.")
    return reply


async def _keyset_pages(
    ask: Callable[[str | None], Awaitable[Sequence[Item]]], key: Callable[[Item], str]
) -> AsyncIterator[Sequence[Item]]:
    """Every page of a keyset-paged query (``contracts.listing.KeysetPage``), one at a time: each asks
    for what follows the last item of the one before, until a short page."""
    after: str | None = None
    while True:
        page = await ask(after)
        if page:
            yield page
        if len(page) < IDS_PER_PAGE:
            return
        after = key(page[-1])


def _chunks(user_ids: Sequence[str], size: int = IDS_PER_CHECK) -> list[tuple[str, ...]]:
    return [tuple(user_ids[start : start + size]) for start in range(0, len(user_ids), size)]


@dataclass(frozen=True)
class _Client:
    transport: Transport

    async def _ask(
        self, message: Message, tenant: str, expected: type[Expected], *, about: str | None = None
    ) -> Expected:
        topic, key = route(message, tenant, about)
        return expect(await self.transport.ask(message, tenant=tenant, topic=topic, key=key), expected)


class UsersClient(_Client):
    async def get(self, tenant: str, user_id: str) -> UserRecord:
        return (await self._ask(GetUser(user_id=user_id), tenant, UserReply, about=user_id)).user

    async def list(self, tenant: str, parameters: ListParameters) -> UserPage:
        return await self._ask(ListUsers(**parameters.model_dump()), tenant, UserPage)

    async def write(self, tenant: str, command: CreateUser | ReplaceUser) -> UserRecord:
        return (await self._ask(command, tenant, UserReply, about=command.user_id)).user

    async def delete(self, tenant: str, command: DeleteUser) -> None:
        await self._ask(command, tenant, Deleted, about=command.user_id)

    async def known(self, tenant: str, user_ids: Sequence[str]) -> set[str]:
        """Which of these ids are live users of the tenant. Not ``in_flight``: a create still waiting for its
        seat may yet be refused, and its id can only have reached the IdP in a 201 — by then it is live."""
        asked = [self._ask(FindUserIds(user_ids=chunk), tenant, UserIds) for chunk in _chunks(user_ids)]
        return {user_id for found in await asyncio.gather(*asked) for user_id in found.user_ids}

    async def active(self, tenant: str) -> UserIds:
        """Every active user of the tenant, asked for a page at a time; ``in_flight`` from the first."""
        first: list[UserIds] = []

        async def ask(after: str | None) -> tuple[str, ...]:
            page = await self._ask(ListActiveUserIds(after=after), tenant, UserIds)
            first[:] = first or [page]
            return page.user_ids

        ids = [user_id async for page in _keyset_pages(ask, str) for user_id in page]
        return first[0].model_copy(update={"user_ids": tuple(ids)})

    async def reconcile_seat(self, tenant: str, user_id: str) -> None:
        """Publish without waiting: the users service settles the seat in the user's own order."""
        command = ReconcileSeat(user_id=user_id)
        topic, key = route(command, tenant, user_id)
        await self.transport.tell(command, tenant=tenant, topic=topic, key=key)

    async def default_manager(self, tenant: str) -> DefaultManager:
        return await self._ask(GetDefaultManager(), tenant, DefaultManager)

    async def choose_default_manager(self, tenant: str, user_id: str | None) -> DefaultManager:
        return await self._ask(SetDefaultManager(user_id=user_id), tenant, DefaultManager)


class TeamsClient(_Client):
    async def get(self, tenant: str, team_id: str, *, members: bool) -> TeamRecord:
        return (await self._ask(GetTeam(team_id=team_id, include_members=members), tenant, TeamReply)).team

    def members(
        self, tenant: str, team_id: str, *, any_source: bool = False
    ) -> AsyncIterator[Sequence[TeamMember]]:
        """The team's members a page at a time, in user id order (a team of any size)."""

        async def ask(after: str | None) -> tuple[TeamMember, ...]:
            query = ListTeamMembers(team_id=team_id, after=after, any_source=any_source)
            return (await self._ask(query, tenant, TeamMembers)).members

        return _keyset_pages(ask, lambda member: member.user_id)

    async def list_groups(self, tenant: str, parameters: ListParameters, *, members: bool) -> TeamPage:
        return await self._ask(
            ListGroups(**parameters.model_dump(), include_members=members), tenant, TeamPage
        )

    async def list_teams(self, tenant: str, query: ListTeams) -> TeamPage:
        return await self._ask(query, tenant, TeamPage)

    async def write(self, tenant: str, command: TeamWrite) -> TeamRecord:
        return (await self._ask(command, tenant, TeamReply, about=command.team_id)).team

    async def delete(self, tenant: str, command: DeleteGroup | DeletePortalTeam) -> None:
        await self._ask(command, tenant, Deleted, about=command.team_id)


class SeatsClient(_Client):
    async def usage(self, tenant: str) -> SeatUsage:
        return await self._ask(GetSeatUsage(), tenant, SeatUsage)

    async def set_limit(self, tenant: str, limit: int) -> SeatUsage:
        return await self._ask(SetSeatLimit(limit=limit), tenant, SeatUsage)

    async def recall_allowance(self, tenant: str) -> None:
        """Publish without waiting: the seats service counts the allowance again when it comes back."""
        command = RecallSeatAllowance()
        topic, key = route(command, tenant)
        await self.transport.tell(command, tenant=tenant, topic=topic, key=key)

    async def holders(self, tenant: str) -> SeatHolders:
        """Every seat holder of the tenant, asked for a page at a time."""

        async def ask(after: str | None) -> tuple[str, ...]:
            return (await self._ask(ListSeatHolders(after=after), tenant, SeatHolders)).user_ids

        return SeatHolders(
            user_ids=tuple([user_id async for page in _keyset_pages(ask, str) for user_id in page])
        )


class ActivityClient(_Client):
    async def list(self, tenant: str, query: ListActivity) -> ActivityPage:
        return await self._ask(query, tenant, ActivityPage)


@dataclass(frozen=True)
class Owners:
    users: UsersClient
    teams: TeamsClient
    seats: SeatsClient
    activity: ActivityClient

    @classmethod
    def over(cls, transport: Transport) -> Owners:
        return cls(
            users=UsersClient(transport),
            teams=TeamsClient(transport),
            seats=SeatsClient(transport),
            activity=ActivityClient(transport),
        )
