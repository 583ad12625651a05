"""Listens to the users events: keeps the teams service's own view of users (``known_users``) and, from
it, the manager teams (``manager_teams``). Deleted users leave every team; deactivated users leave only
manager teams (pushed teams keep them until the IdP removes them).

Events about one user arrive in order (keyed by tenant:user id); events about different users may
interleave in any order, and any of them may be redelivered. Each handler therefore recomputes the one
user's place from that user's state alone, which makes every order converge on the same teams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlmodel import Session

from contracts.envelope import Envelope
from contracts.ids import mint_id
from contracts.sources import ChangeSource
from contracts.teams import TeamCreated, TeamDeleted, TeamRenamed, TeamSource
from contracts.users import (
    UserCreated,
    UserDeactivated,
    UserDeleted,
    UserManagerChanged,
    UserReactivated,
    UserRecord,
    UserUpdated,
)
from servicekit.records import HandlerMap, Outgoing
from services.teams import known_users, manager_teams, store
from services.teams.domain import name_key
from services.teams.known_users import KnownUser
from services.teams.messages import members_changed, team_event
from services.teams.store import TeamRow

_RULE = ChangeSource.MANAGER_RULE


def _state(user: KnownUser) -> manager_teams.UserState:
    return manager_teams.UserState(
        user_id=user.user_id, active=user.active, deleted=user.deleted, manager_id=user.manager_id
    )


def _leave(
    session: Session, envelope: Envelope, team: TeamRow, user_id: str, source: ChangeSource
) -> list[Outgoing]:
    if not store.remove_members(session, row=team, user_ids=[user_id]):
        return []  # a concurrent change removed them first: nothing happened here
    if team.source == TeamSource.MANAGER.value and team.member_count == 0:
        store.delete_team(session, row=team, now=datetime.now(UTC))  # a manager team never stays empty
        return [team_event(envelope, team.id, TeamDeleted(team_id=team.id, source=_RULE))]
    store.touch(session, row=team, now=datetime.now(UTC))
    return members_changed(envelope, team.id, added=(), removed=[user_id], source=source)


def _leader_team(session: Session, envelope: Envelope, leader_id: str) -> tuple[TeamRow, list[Outgoing]]:
    """The leader's manager team, created the first time it gets a member."""
    team = store.lock_manager_team(session, tenant=envelope.tenant, leader_id=leader_id)
    if team is not None:
        return team, []
    # Named after the leader as known. Their own first event may be in flight on another instance
    # (PostgreSQL): ``hear_of`` then waits for it and reads their name; or, if this placeholder comes
    # first, their event waits for this transaction and finds the team to rename (``_rename_led_team``).
    leader = known_users.hear_of(session, tenant=envelope.tenant, user_id=leader_id)
    name = manager_teams.team_name(
        leader_id=leader_id, display_name=leader.display_name, user_name=leader.user_name
    )
    team_id = mint_id()
    team = store.add_team(
        session,
        tenant=envelope.tenant,
        team_id=team_id,
        display_name=name,
        name_key=name_key(name),
        source=TeamSource.MANAGER,
        leader_id=leader_id,
        now=datetime.now(UTC),
    )
    created = TeamCreated(
        team_id=team_id, display_name=name, team_source=TeamSource.MANAGER, leader_id=leader_id, source=_RULE
    )
    return team, [team_event(envelope, team_id, created)]


def _place(session: Session, envelope: Envelope, user: KnownUser, *, first_heard: bool) -> list[Outgoing]:
    """Put the user in exactly the manager team the rule says (or in none). A user heard of for the
    first time is in no manager team yet: only this function adds members to manager teams, while
    handling the member's own event, after storing their row (and rows are never deleted)."""
    wanted = manager_teams.leader_for(_state(user))
    outgoing: list[Outgoing] = []
    current = (
        [] if first_heard else store.lock_teams_of_user(session, tenant=envelope.tenant, user_id=user.user_id)
    )
    for team in current:
        if team.source == TeamSource.MANAGER.value and team.leader_id != wanted:
            outgoing += _leave(session, envelope, team, user.user_id, _RULE)
        elif team.source == TeamSource.MANAGER.value:
            wanted = None  # already where the rule wants them
    if wanted is not None:
        team, created = _leader_team(session, envelope, wanted)
        store.add_members(session, row=team, user_ids=[user.user_id])
        store.touch(session, row=team, now=datetime.now(UTC))
        outgoing += [
            *created,
            *members_changed(envelope, team.id, added=[user.user_id], removed=(), source=_RULE),
        ]
    return outgoing


def _rename_led_team(session: Session, envelope: Envelope, user: KnownUser) -> list[Outgoing]:
    """A manager team is named after its manager: it follows the manager's name. (Most users lead
    none: the probe spares them loading and locking a row.)"""
    if not store.leads_a_team(session, tenant=envelope.tenant, leader_id=user.user_id):
        return []
    team = store.lock_manager_team(session, tenant=envelope.tenant, leader_id=user.user_id)
    if team is None:
        return []
    name = manager_teams.team_name(
        leader_id=user.user_id, display_name=user.display_name, user_name=user.user_name
    )
    if name == team.display_name:
        return []
    previous, team.display_name, team.name_key = team.display_name, name, name_key(name)
    store.touch(session, row=team, now=datetime.now(UTC))
    renamed = TeamRenamed(team_id=team.id, previous_name=previous, display_name=name, source=_RULE)
    return [team_event(envelope, team.id, renamed)]


def _save_and_place(
    session: Session, envelope: Envelope, before: KnownUser | None, user: KnownUser
) -> list[Outgoing]:
    known_users.save_known_user(session, tenant=envelope.tenant, user=user)
    return [
        *_place(session, envelope, user, first_heard=before is None),
        *_rename_led_team(session, envelope, user),
    ]


def _record(session: Session, envelope: Envelope, record: UserRecord) -> list[Outgoing]:
    before = known_users.known_user(session, tenant=envelope.tenant, user_id=record.id)
    if before is not None and before.deleted:
        return []  # deletion is final: ids are never reused
    user = KnownUser(
        user_id=record.id,
        user_name=record.profile.user_name,
        display_name=record.profile.display_name,
        active=record.profile.is_active,
        manager_id=record.manager_id,
    )
    return _save_and_place(session, envelope, before, user)


def user_created(session: Session, envelope: Envelope, event: UserCreated) -> list[Outgoing]:
    return _record(session, envelope, event.user)


def user_updated(session: Session, envelope: Envelope, event: UserUpdated) -> list[Outgoing]:
    return _record(session, envelope, event.user)


def _change(
    session: Session, envelope: Envelope, user_id: str, change: Callable[[KnownUser], KnownUser]
) -> list[Outgoing]:
    """Apply what the event tells (``active``, ``manager_id``) to what is known of the user."""
    before = known_users.known_user(session, tenant=envelope.tenant, user_id=user_id)
    if before is not None and before.deleted:
        return []
    return _save_and_place(session, envelope, before, change(before or KnownUser(user_id=user_id)))


def user_deactivated(session: Session, envelope: Envelope, event: UserDeactivated) -> list[Outgoing]:
    return _change(session, envelope, event.user_id, lambda user: replace(user, active=False))


def user_reactivated(session: Session, envelope: Envelope, event: UserReactivated) -> list[Outgoing]:
    return _change(session, envelope, event.user_id, lambda user: replace(user, active=True))


def user_manager_changed(session: Session, envelope: Envelope, event: UserManagerChanged) -> list[Outgoing]:
    return _change(session, envelope, event.user_id, lambda user: replace(user, manager_id=event.manager_id))


def user_deleted(session: Session, envelope: Envelope, event: UserDeleted) -> list[Outgoing]:
    """A deleted user leaves every team, pushed and derived alike."""
    store.hold_membership_adds(session, tenant=envelope.tenant, exclusive=True)
    before = known_users.known_user(session, tenant=envelope.tenant, user_id=event.user_id)
    gone = replace(before or KnownUser(user_id=event.user_id), deleted=True, active=False)
    known_users.save_known_user(session, tenant=envelope.tenant, user=gone)
    outgoing: list[Outgoing] = []
    for team in store.lock_teams_of_user(session, tenant=envelope.tenant, user_id=event.user_id):
        source = _RULE if team.source == TeamSource.MANAGER.value else ChangeSource.SCIM
        outgoing += _leave(session, envelope, team, event.user_id, source)
    return outgoing


USER_EVENT_HANDLERS: HandlerMap = {
    UserCreated: user_created,
    UserUpdated: user_updated,
    UserDeactivated: user_deactivated,
    UserReactivated: user_reactivated,
    UserManagerChanged: user_manager_changed,
    UserDeleted: user_deleted,
}
