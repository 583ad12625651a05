"""Messages owned by the teams service: commands, queries, replies and events.

A team is one of three kinds, told apart by ``source``: pushed from an IdP group (SCIM), made in the
portal (admin API / CLI), or derived from the manager relation. Portal teams become *linked* when
the IdP pushes a group with their name or writes to them over SCIM (docs/architecture.md §4 "Groups →
teams"): from then on they are managed in the identity provider and read-only in the portal (one-way
sync).

Membership changes are deltas (docs/architecture.md §2): a command or event names the ids added and
removed, never a rebuilt member list, so a one-member change costs the same on any team size.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from contracts.envelope import Message
from contracts.listing import MAX_INDEX, KeysetPage, ListParameters
from contracts.sources import ChangeSource
from contracts.users import _Data

MEMBERS_PER_EVENT = 2_000
"""Ids per ``TeamMembersChanged``: a 10,000-member replace becomes a handful of bounded events."""


class TeamSource(StrEnum):
    """Who made the team."""

    SCIM = "scim"  # POST /Groups from the identity provider
    PORTAL = "portal"  # the admin API / CLI (the portal)
    MANAGER = "manager"  # the manager rule: one team per manager with active direct reports


class TeamMember(_Data):
    user_id: str
    display: str | None = Field(
        default=None, description="The member's userName, if known to the teams service."
    )


class TeamRecord(_Data):
    id: str
    display_name: str
    external_id: str | None = None
    source: TeamSource
    linked: bool = Field(description="Managed by the identity provider: read-only in the portal.")
    leader_id: str | None = Field(default=None, description="The manager a manager team belongs to.")
    member_count: int
    members: tuple[TeamMember, ...] | None = Field(
        default=None, description="None when not asked for (excludedAttributes=members) or too many to send."
    )
    created: datetime
    last_modified: datetime
    version: int


class MembershipOp(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"  # the member list becomes exactly these ids (an empty list removes everyone)


class MembershipChange(_Data):
    op: MembershipOp
    user_ids: tuple[str, ...] = ()


# Commands (teams.commands.v1, keyed by tenant:team id)


class PushGroup(Message):
    """SCIM POST /Groups: create a team, or link the one unlinked team of that name (case-insensitive).

    ``team_id`` is minted by the gateway and used only when a new team is created; a link answers with
    the linked team's own id.
    """

    team_id: str
    display_name: str
    external_id: str | None = None
    member_ids: tuple[str, ...] = ()


class ReplaceGroup(Message):
    """SCIM PUT /Groups/{id}: full replace of name, externalId and members (as a delta, inside)."""

    team_id: str
    display_name: str
    external_id: str | None = None
    member_ids: tuple[str, ...] = ()
    expected_version: int | None = None
    reply_members_up_to: int = Field(
        default=MAX_INDEX, ge=0, description="Omit members in the reply above this."
    )


class PatchGroup(Message):
    """SCIM PATCH /Groups/{id}: every operation of one request, applied atomically and in order."""

    team_id: str
    rename_to: str | None = None
    replace_external_id: bool = False
    external_id: str | None = None
    changes: tuple[MembershipChange, ...] = ()
    expected_version: int | None = None
    reply_members_up_to: int = Field(
        default=MAX_INDEX, ge=0, description="Omit members in the reply above this."
    )


class DeleteGroup(Message):
    """SCIM DELETE /Groups/{id}: the team goes; its users stay."""

    team_id: str
    expected_version: int | None = None


class CreatePortalTeam(Message):
    team_id: str
    display_name: str
    member_ids: tuple[str, ...] = ()


class RenamePortalTeam(Message):
    team_id: str
    display_name: str


class ChangePortalTeamMembers(Message):
    team_id: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


class DeletePortalTeam(Message):
    team_id: str


class ReleaseTeam(Message):
    """The identity provider no longer manages this team (Okta: unlink the pushed group and keep it in
    the app): it becomes an editable portal team again. Pushing a group of its name links it again."""

    team_id: str


# Queries (teams.queries.v1)


class GetTeam(Message):
    """One SCIM group (scim or portal team), or any team when ``any_source``."""

    team_id: str
    include_members: bool = True
    any_source: bool = False


class ListTeamMembers(KeysetPage, Message):
    """A team's members a page at a time in user id order (GET /Groups/{id} and the admin listing of a
    team of any size); ``any_source`` as for ``GetTeam``."""

    team_id: str
    any_source: bool = False


class ListGroups(ListParameters, Message):
    """SCIM GET /Groups: teams from SCIM and the portal (manager teams are not groups).

    ``filter`` is the SCIM filter text (RFC 7644 §3.4.2.2); the owner evaluates it.
    """

    include_members: bool = True


class ListTeams(Message):
    """The admin view: the teams of one source (or all), with members, a page at a time in creation
    order (a page is cut short where its members would not fit one reply)."""

    source: TeamSource | None = None
    include_members: bool = True
    start_index: int = Field(default=1, ge=1, le=MAX_INDEX)
    count: int = Field(default=MAX_INDEX, ge=0, le=MAX_INDEX)


# Replies


class TeamReply(Message):
    team: TeamRecord


class TeamMembers(Message):
    members: tuple[TeamMember, ...] = Field(
        description="In user id order; fewer than the page's limit on the last page."
    )


class TeamPage(Message):
    total_results: int
    start_index: int
    teams: tuple[TeamRecord, ...]


# Events (teams.events.v1, keyed by tenant:team id)


class TeamCreated(Message):
    team_id: str
    display_name: str
    team_source: TeamSource
    leader_id: str | None = None
    external_id: str | None = None
    source: ChangeSource


class TeamLinked(Message):
    """An existing portal team is now managed by the identity provider."""

    team_id: str
    display_name: str
    external_id: str | None = None
    source: ChangeSource = ChangeSource.SCIM


class TeamUnlinked(Message):
    """A team the identity provider managed is a portal team again (``ReleaseTeam``)."""

    team_id: str
    display_name: str
    source: ChangeSource = ChangeSource.PORTAL


class TeamRenamed(Message):
    team_id: str
    previous_name: str
    display_name: str
    source: ChangeSource


class TeamMembersChanged(Message):
    """A delta: at most ``MEMBERS_PER_EVENT`` ids in ``added`` + ``removed``."""

    team_id: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    source: ChangeSource


class TeamDeleted(Message):
    team_id: str
    source: ChangeSource
