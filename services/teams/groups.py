"""SCIM Groups commands: load → ask the domain → save, and say what to send. Never publish here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from contracts.envelope import Envelope, Message
from contracts.replies import Deleted
from contracts.sources import ChangeSource
from contracts.teams import (
    DeleteGroup,
    MembershipChange,
    MembershipOp,
    PatchGroup,
    PushGroup,
    ReplaceGroup,
    TeamCreated,
    TeamDeleted,
    TeamLinked,
    TeamRenamed,
    TeamReply,
    TeamSource,
)
from servicekit.records import Outgoing, reply_to
from services.teams import domain, membership, store
from services.teams.messages import PRODUCER, members_changed, team_event
from services.teams.store import TeamRow

_SCIM = ChangeSource.SCIM


def team_reply(
    session: Session, envelope: Envelope, row: TeamRow, *, members_up_to: int = domain.MAX_REPLY_MEMBERS
) -> list[Outgoing]:
    up_to = min(members_up_to, domain.MAX_REPLY_MEMBERS)  # the 8 MiB message limit
    record = store.team_record(session, row=row, include_members=True, members_up_to=up_to)
    return reply_to(envelope, TeamReply(team=record), producer=PRODUCER)


def push_group(session: Session, envelope: Envelope, command: PushGroup) -> list[Outgoing]:
    """The create-or-link rule (docs/architecture.md §4 "Groups → teams"): see ``domain.push_target``."""
    domain.check_display_name(command.display_name)
    domain.check_member_ids(command.member_ids)
    store.lock_tenant_teams(session, tenant=envelope.tenant)
    key = domain.name_key(command.display_name)
    named = store.teams_named(session, tenant=envelope.tenant, name_key=key)
    target = domain.push_target(command.display_name, named)
    if target is None:
        return _create(session, envelope, command)
    return _link(session, envelope, command, target.id)


def _create(session: Session, envelope: Envelope, command: PushGroup) -> list[Outgoing]:
    used = store.id_ever_used(session, team_id=command.team_id)
    domain.ensure_id_never_used(command.team_id, used=used)
    row = store.add_team(
        session,
        tenant=envelope.tenant,
        team_id=command.team_id,
        display_name=command.display_name,
        name_key=domain.name_key(command.display_name),
        source=TeamSource.SCIM,
        now=datetime.now(UTC),
        external_id=command.external_id,
        linked=True,
    )
    added, _ = membership.delta(session, row=row, changes=membership.adding(command.member_ids))
    membership.apply(session, row=row, added=added, removed=())
    created = TeamCreated(
        team_id=row.id,
        display_name=row.display_name,
        team_source=TeamSource.SCIM,
        external_id=row.external_id,
        source=_SCIM,
    )
    return [
        team_event(envelope, row.id, created),
        *members_changed(envelope, row.id, added=added, removed=(), source=_SCIM),
        *team_reply(session, envelope, row),
    ]


def _link(session: Session, envelope: Envelope, command: PushGroup, team_id: str) -> list[Outgoing]:
    row = domain.ensure_group(store.lock_team(session, tenant=envelope.tenant, team_id=team_id), team_id)
    added, _ = membership.delta(session, row=row, changes=membership.adding(command.member_ids))
    row.linked = True
    row.external_id = command.external_id
    membership.apply(session, row=row, added=added, removed=())
    store.touch(session, row=row, now=datetime.now(UTC))
    linked = TeamLinked(team_id=row.id, display_name=row.display_name, external_id=row.external_id)
    return [
        team_event(envelope, row.id, linked),
        *members_changed(envelope, row.id, added=added, removed=(), source=_SCIM),
        *team_reply(session, envelope, row),
    ]


@dataclass(frozen=True)
class _Write:
    """A PUT or PATCH, as what it asks for."""

    team_id: str
    rename_to: str | None
    set_external_id: bool
    external_id: str | None
    changes: Sequence[MembershipChange]
    expected_version: int | None
    reply_members_up_to: int


def replace_group(session: Session, envelope: Envelope, command: ReplaceGroup) -> list[Outgoing]:
    """RFC 7644 §3.5.1: name, externalId and members become exactly these (members as a delta)."""
    write = _Write(
        team_id=command.team_id,
        rename_to=command.display_name,
        set_external_id=True,
        external_id=command.external_id,
        changes=(MembershipChange(op=MembershipOp.REPLACE, user_ids=command.member_ids),),
        expected_version=command.expected_version,
        reply_members_up_to=command.reply_members_up_to,
    )
    return _write(session, envelope, write)


def patch_group(session: Session, envelope: Envelope, command: PatchGroup) -> list[Outgoing]:
    write = _Write(
        team_id=command.team_id,
        rename_to=command.rename_to,
        set_external_id=command.replace_external_id,
        external_id=command.external_id,
        changes=command.changes,
        expected_version=command.expected_version,
        reply_members_up_to=command.reply_members_up_to,
    )
    return _write(session, envelope, write)


def _locked_group(session: Session, tenant: str, write: _Write) -> TeamRow:
    """The team, its row locked; the tenant's names locked first if the write claims a name (a
    rename, or linking a portal team), in the order a push takes them, so the two never deadlock."""
    seen = domain.ensure_group(store.get_team(session, tenant=tenant, team_id=write.team_id), write.team_id)
    if domain.renames(seen, write.rename_to) or not domain.managed_by_idp(seen):
        store.lock_tenant_teams(session, tenant=tenant)
    row = store.lock_team(session, tenant=tenant, team_id=write.team_id)
    return domain.ensure_group(row, write.team_id)


def _write(session: Session, envelope: Envelope, write: _Write) -> list[Outgoing]:
    if write.rename_to is not None:
        domain.check_display_name(write.rename_to)
    for change in write.changes:
        domain.check_member_ids(change.user_ids)
    row = _locked_group(session, envelope.tenant, write)
    domain.check_version(row, write.expected_version)
    external_id_changes = write.set_external_id and write.external_id != row.external_id
    if write.set_external_id:
        row.external_id = write.external_id
    events: list[Message] = []
    renaming = domain.renames(row, write.rename_to)
    if not domain.managed_by_idp(row):  # a SCIM write to a portal team: the IdP manages it now
        if not renaming:
            _claim_name(session, row, row.display_name, renaming=False)
        row.linked = True
        events.append(TeamLinked(team_id=row.id, display_name=row.display_name, external_id=row.external_id))
    if renaming and write.rename_to is not None:
        _claim_name(session, row, write.rename_to, renaming=True)
        renamed = TeamRenamed(
            team_id=row.id, previous_name=row.display_name, display_name=write.rename_to, source=_SCIM
        )
        row.display_name, row.name_key = write.rename_to, domain.name_key(write.rename_to)
        events.append(renamed)
    added, removed = membership.delta(session, row=row, changes=write.changes)
    membership.apply(session, row=row, added=added, removed=removed)
    if events or external_id_changes or added or removed:
        store.touch(session, row=row, now=datetime.now(UTC))  # else nothing changed: IdPs resend
    return [
        *(team_event(envelope, row.id, event) for event in events),
        *members_changed(envelope, row.id, added=added, removed=removed, source=_SCIM),
        *team_reply(session, envelope, row, members_up_to=write.reply_members_up_to),
    ]


def _claim_name(session: Session, row: TeamRow, name: str, *, renaming: bool) -> None:
    """Group names are unique among linked teams: this one may use ``name`` once linked; a rename
    also takes no portal team's name."""
    store.lock_tenant_teams(session, tenant=row.tenant)  # already held unless changed meanwhile
    named = store.teams_named(session, tenant=row.tenant, name_key=domain.name_key(name))
    if renaming:
        domain.ensure_name_free_for_rename(name, named, team_id=row.id)
    else:
        domain.ensure_name_free(name, named, team_id=row.id)


def delete_group(session: Session, envelope: Envelope, command: DeleteGroup) -> list[Outgoing]:
    """The team goes; its users stay (they are the users service's)."""
    store.lock_tenant_teams(session, tenant=envelope.tenant)
    row = store.lock_team(session, tenant=envelope.tenant, team_id=command.team_id)
    row = domain.ensure_group(row, command.team_id)
    domain.check_version(row, command.expected_version)
    store.delete_team(session, row=row, now=datetime.now(UTC))
    return [
        team_event(envelope, row.id, TeamDeleted(team_id=row.id, source=_SCIM)),
        *reply_to(envelope, Deleted(resource_id=row.id), producer=PRODUCER),
    ]
