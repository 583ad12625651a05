"""Portal (admin) team commands. One-way sync: teams the identity provider manages, and manager teams,
are read-only here; the refusal says where to make the change instead."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from contracts.envelope import Envelope
from contracts.replies import Deleted
from contracts.sources import ChangeSource
from contracts.teams import (
    ChangePortalTeamMembers,
    CreatePortalTeam,
    DeletePortalTeam,
    MembershipChange,
    MembershipOp,
    ReleaseTeam,
    RenamePortalTeam,
    TeamCreated,
    TeamDeleted,
    TeamRenamed,
    TeamSource,
    TeamUnlinked,
)
from servicekit.records import Outgoing, reply_to
from services.teams import domain, membership, store
from services.teams.groups import team_reply
from services.teams.messages import PRODUCER, members_changed, team_event
from services.teams.store import TeamRow

_PORTAL = ChangeSource.PORTAL


def _editable(session: Session, envelope: Envelope, team_id: str) -> TeamRow:
    row = domain.ensure_team(store.lock_team(session, tenant=envelope.tenant, team_id=team_id), team_id)
    domain.ensure_portal_editable(row)
    return row


def create_portal_team(session: Session, envelope: Envelope, command: CreatePortalTeam) -> list[Outgoing]:
    tenant = envelope.tenant
    domain.check_display_name(command.display_name)
    domain.check_member_ids(command.member_ids)
    store.lock_tenant_teams(session, tenant=tenant)
    domain.ensure_id_never_used(command.team_id, used=store.id_ever_used(session, team_id=command.team_id))
    key = domain.name_key(command.display_name)
    named = store.teams_named(session, tenant=tenant, name_key=key)
    domain.ensure_name_free(command.display_name, named, team_id=None)
    row = store.add_team(
        session,
        tenant=tenant,
        team_id=command.team_id,
        display_name=command.display_name,
        name_key=key,
        source=TeamSource.PORTAL,
        now=datetime.now(UTC),
    )
    added, _ = membership.delta(session, row=row, changes=membership.adding(command.member_ids))
    membership.apply(session, row=row, added=added, removed=())
    created = TeamCreated(
        team_id=row.id, display_name=row.display_name, team_source=TeamSource.PORTAL, source=_PORTAL
    )
    return [
        team_event(envelope, row.id, created),
        *members_changed(envelope, row.id, added=added, removed=(), source=_PORTAL),
        *team_reply(session, envelope, row),
    ]


def rename_portal_team(session: Session, envelope: Envelope, command: RenamePortalTeam) -> list[Outgoing]:
    domain.check_display_name(command.display_name)
    store.lock_tenant_teams(session, tenant=envelope.tenant)
    row = _editable(session, envelope, command.team_id)
    if not domain.renames(row, command.display_name):
        return team_reply(session, envelope, row)
    named = store.teams_named(session, tenant=row.tenant, name_key=domain.name_key(command.display_name))
    domain.ensure_name_free(command.display_name, named, team_id=row.id)
    renamed = TeamRenamed(
        team_id=row.id, previous_name=row.display_name, display_name=command.display_name, source=_PORTAL
    )
    row.display_name = command.display_name
    row.name_key = domain.name_key(command.display_name)
    store.touch(session, row=row, now=datetime.now(UTC))
    return [team_event(envelope, row.id, renamed), *team_reply(session, envelope, row)]


def change_portal_team_members(
    session: Session, envelope: Envelope, command: ChangePortalTeamMembers
) -> list[Outgoing]:
    domain.check_member_ids([*command.add, *command.remove])
    domain.ensure_disjoint(command.add, command.remove)
    row = _editable(session, envelope, command.team_id)
    changes = [
        MembershipChange(op=MembershipOp.ADD, user_ids=command.add),
        MembershipChange(op=MembershipOp.REMOVE, user_ids=command.remove),
    ]
    added, removed = membership.delta(session, row=row, changes=changes)
    membership.apply(session, row=row, added=added, removed=removed)
    if added or removed:
        store.touch(session, row=row, now=datetime.now(UTC))
    return [
        *members_changed(envelope, row.id, added=added, removed=removed, source=_PORTAL),
        *team_reply(session, envelope, row),
    ]


def delete_portal_team(session: Session, envelope: Envelope, command: DeletePortalTeam) -> list[Outgoing]:
    store.lock_tenant_teams(session, tenant=envelope.tenant)
    row = _editable(session, envelope, command.team_id)
    store.delete_team(session, row=row, now=datetime.now(UTC))
    return [
        team_event(envelope, row.id, TeamDeleted(team_id=row.id, source=_PORTAL)),
        *reply_to(envelope, Deleted(resource_id=row.id), producer=PRODUCER),
    ]


def release_team(session: Session, envelope: Envelope, command: ReleaseTeam) -> list[Outgoing]:
    """After Okta's "unlink, keep the group" nothing tells Roster: the admin hands the team back."""
    store.lock_tenant_teams(session, tenant=envelope.tenant)
    row = domain.ensure_team(
        store.lock_team(session, tenant=envelope.tenant, team_id=command.team_id), command.team_id
    )
    domain.ensure_releasable(row)
    row.linked, row.source = False, TeamSource.PORTAL.value
    store.touch(session, row=row, now=datetime.now(UTC))
    unlinked = TeamUnlinked(team_id=row.id, display_name=row.display_name, source=_PORTAL)
    return [team_event(envelope, row.id, unlinked), *team_reply(session, envelope, row)]
