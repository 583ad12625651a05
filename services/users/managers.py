"""The manager relation kept current (docs/architecture.md §4 "Manager"), called by handlers and the saga.

After every write of a user M, in the same transaction: M's own reference is resolved, and so is
every user it may concern — those managed by M, and those whose stored reference equals one of M's
identifiers before or after the write (reports provisioned before their manager, a manager
deactivated, reactivated or deleted). When the tenant's effective default manager changes, everyone
on the default follows. A resolution is derived state: the user's version (ETag) never changes
for it, so the gateway's PATCH read-modify-write and If-Match keep working.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from contracts.sources import ChangeSource
from contracts.users import (
    DefaultManager,
    DefaultManagerChanged,
    ManagerVia,
    UserManagerChanged,
    UserRecord,
)
from services.users import domain, manager_rules, manager_store, store
from services.users.manager_rules import Match, ReferenceKeys, Resolution
from services.users.manager_store import ManagerDefaultsRow, UserManagerRow
from services.users.relinked import Relinked


class _Resolver:
    """Resolves references within one transaction; users sharing a reference share one lookup."""

    def __init__(self, session: Session, tenant: str, default_id: str | None) -> None:
        self._session, self._tenant, self.default_id = session, tenant, default_id
        self._matches: dict[ReferenceKeys, list[Match]] = {}

    def __call__(self, user_id: str, reference: str | None) -> Resolution:
        keys = manager_rules.reference_keys(reference)
        found: list[Match] = []
        if keys is not None:
            if keys not in self._matches:
                self._matches[keys] = manager_store.matches(self._session, tenant=self._tenant, keys=keys)
            found = self._matches[keys]
        designated = manager_rules.pick(found, user_id=user_id)
        return manager_rules.resolve(user_id, designated=designated, default_id=self.default_id)


def _apply(row: UserManagerRow, resolution: Resolution, source: ChangeSource) -> UserManagerChanged | None:
    previous = row.manager_id
    row.manager_id, row.via = resolution.manager_id, resolution.via.value
    if previous == resolution.manager_id:
        return None
    return UserManagerChanged(
        user_id=row.user_id,
        manager_id=resolution.manager_id,
        previous_manager_id=previous,
        via=resolution.via,
        source=source,
    )


def _set_reference(row: UserManagerRow, reference: str | None) -> None:
    keys = manager_rules.reference_keys(reference)
    row.reference = reference
    row.ref_exact, row.ref_folded = keys.heads if keys is not None else (None, None)


def _refresh_effective(session: Session, row: ManagerDefaultsRow) -> bool:
    """Recompute who is the default manager now; True if that changed."""
    usable = store.active_among(session, tenant=row.tenant, user_ids=(row.chosen_id, row.first_coach_id))
    if row.chosen_id in usable:
        chosen = store.get_user(session, tenant=row.tenant, user_id=row.chosen_id)
        if chosen is None or not manager_rules.can_be_default(chosen):
            usable.discard(row.chosen_id)  # demoted below manager in the IdP since chosen
    effective = manager_rules.effective_default(
        chosen_id=row.chosen_id, first_coach_id=row.first_coach_id, usable=usable
    )
    moved, row.effective_id = effective != row.effective_id, effective
    manager_store.save(session, rows=[row])
    return moved


def _follow_default(
    session: Session, tenant: str, default_id: str | None, source: ChangeSource
) -> list[UserManagerChanged]:
    """Everyone on the default moves to the new one. Their references cannot have started to
    resolve meanwhile (the write that made them resolvable would have re-linked them), so only the
    default is applied, without a lookup per user."""
    rows = manager_store.on_default(session, tenant=tenant)
    changes = [
        _apply(row, manager_rules.on_default(row.user_id, default_id=default_id), source) for row in rows
    ]
    manager_store.save(session, rows=rows)
    return [change for change in changes if change is not None]


def _concerned(
    session: Session, tenant: str, user_id: str, before: UserRecord | None, after: UserRecord | None
) -> set[str]:
    exact: set[str] = set()
    folded: set[str] = set()
    for version in (before, after):
        if version is not None:
            more_exact, more_folded = manager_rules.identifier_heads(version)
            exact |= more_exact
            folded |= more_folded
    # Nobody can be linked to a user just created: ids are never reused (docs/architecture.md §2).
    created = before is None
    concerned = set() if created else set(manager_store.linked_to(session, tenant=tenant, manager_id=user_id))
    concerned.update(manager_store.referencing(session, tenant=tenant, exact=exact, folded=folded))
    return concerned - {user_id}


def _resolve_own(
    session: Session,
    tenant: str,
    resolve: _Resolver,
    user_id: str,
    after: UserRecord | None,
    *,
    created: bool,
) -> tuple[UserManagerRow | None, UserManagerChanged | None]:
    """The written user's manager row, and its change (announced as the IdP's: its own write)."""
    if after is None:
        # A deleted user has no manager any more; their UserDeleted says it all.
        manager_store.forget(session, tenant=tenant, user_id=user_id)
        return None, None
    # A user just created has no row yet: ids are never reused (docs/architecture.md §2).
    own = None if created else manager_store.links(session, tenant=tenant, user_ids=[user_id]).get(user_id)
    own = own or UserManagerRow(user_id=user_id, tenant=tenant)
    _set_reference(own, manager_rules.reference_of(after))
    change = _apply(own, resolve(user_id, own.reference), ChangeSource.SCIM)
    manager_store.save(session, rows=[own])
    return own, change


def _resolve_again(
    session: Session, tenant: str, resolve: _Resolver, user_ids: set[str]
) -> list[UserManagerChanged | None]:
    rows = manager_store.links(session, tenant=tenant, user_ids=user_ids)
    ordered = [rows[user_id] for user_id in sorted(rows)]
    rule = ChangeSource.MANAGER_RULE
    changes = [_apply(row, resolve(row.user_id, row.reference), rule) for row in ordered]
    manager_store.save(session, rows=ordered)
    return changes


def _record_first_coach(
    session: Session, defaults: ManagerDefaultsRow, written: UserRecord, after: UserRecord | None
) -> None:
    """Sticky once recorded; when the first Coach is deleted, the earliest-added Coach left takes
    the place (docs/architecture.md §4 "Manager")."""
    was = defaults.first_coach_id
    defaults.first_coach_id = manager_rules.first_coach_after(was, user_id=written.id, written=after)
    if was is not None and defaults.first_coach_id is None:
        defaults.first_coach_id = manager_store.earliest_coach(
            session, tenant=defaults.tenant, excluding=written.id
        )


def user_written(
    session: Session, *, tenant: str, before: UserRecord | None, after: UserRecord | None
) -> Relinked:
    """Bring the relation up to date after a user was created (``before`` None), replaced, or
    deleted (``after`` None) in this transaction."""
    written = after or before
    assert written is not None, "a write has a user before or after it"
    manager_store.lock_tenant(session, tenant=tenant)  # before anything is read for resolution
    defaults = manager_store.defaults(session, tenant=tenant)
    _record_first_coach(session, defaults, written, after)
    chosen_before = defaults.chosen_id
    defaults.chosen_id = manager_rules.choice_after(chosen_before, user_id=written.id, written=after)
    default_moved = _refresh_effective(session, defaults)
    resolve = _Resolver(session, tenant, defaults.effective_id)
    own, own_change = _resolve_own(session, tenant, resolve, written.id, after, created=before is None)
    others = _concerned(session, tenant, written.id, before, after)
    changes = [own_change, *_resolve_again(session, tenant, resolve, others)]
    if default_moved:
        changes += _follow_default(session, tenant, defaults.effective_id, ChangeSource.MANAGER_RULE)
    moved = (
        DefaultManagerChanged(
            chosen_id=defaults.chosen_id, effective_id=defaults.effective_id, source=ChangeSource.MANAGER_RULE
        )
        if default_moved or defaults.chosen_id != chosen_before
        else None
    )
    return Relinked(
        **_resolved(own),
        changes=[change for change in changes if change is not None],
        default_change=moved,
    )


@dataclass(frozen=True)
class DefaultChoice:
    """What SetDefaultManager did."""

    reply: DefaultManager
    announced: DefaultManagerChanged | None
    changes: list[UserManagerChanged]


def _as_reply(row: ManagerDefaultsRow) -> DefaultManager:
    return DefaultManager(
        chosen_id=row.chosen_id, first_coach_id=row.first_coach_id, effective_id=row.effective_id
    )


def current_default(session: Session, *, tenant: str) -> DefaultManager:
    return _as_reply(manager_store.defaults(session, tenant=tenant))


def choose_default(session: Session, *, tenant: str, chosen_id: str | None) -> DefaultChoice:
    """The admin's choice of default manager (None: back to the first Coach)."""
    manager_store.lock_tenant(session, tenant=tenant)
    if chosen_id is not None:
        chosen = store.get_user(session, tenant=tenant, user_id=chosen_id)
        if chosen is None:
            raise domain.not_found(chosen_id)
        manager_rules.ensure_can_be_default(chosen)
    defaults = manager_store.defaults(session, tenant=tenant)
    choice_moved = defaults.chosen_id != chosen_id
    defaults.chosen_id = chosen_id
    default_moved = _refresh_effective(session, defaults)
    changes = (
        _follow_default(session, tenant, defaults.effective_id, ChangeSource.PORTAL) if default_moved else []
    )
    announced = None
    if choice_moved or default_moved:
        announced = DefaultManagerChanged(
            chosen_id=defaults.chosen_id, effective_id=defaults.effective_id, source=ChangeSource.PORTAL
        )
    return DefaultChoice(reply=_as_reply(defaults), announced=announced, changes=changes)


def link_unlinked(session: Session, *, tenant: str, users: list[UserRecord]) -> list[UserManagerChanged]:
    """Resolve users written before the manager relation existed (oldest first: the first Coach among
    them becomes the first Coach ever added, unless one is recorded already)."""
    manager_store.lock_tenant(session, tenant=tenant)
    linked = manager_store.links(session, tenant=tenant, user_ids=[user.id for user in users])
    users = [user for user in users if user.id not in linked]  # another instance may have been first
    defaults = manager_store.defaults(session, tenant=tenant)
    for user in users:
        defaults.first_coach_id = manager_rules.first_coach_after(
            defaults.first_coach_id, user_id=user.id, written=user
        )
    rule = ChangeSource.MANAGER_RULE
    changes: list[UserManagerChanged | None] = []
    if _refresh_effective(session, defaults):
        changes += _follow_default(session, tenant, defaults.effective_id, rule)
    resolve = _Resolver(session, tenant, defaults.effective_id)
    rows: list[UserManagerRow] = []
    for user in users:
        row = UserManagerRow(user_id=user.id, tenant=tenant)
        _set_reference(row, manager_rules.reference_of(user))
        changes.append(_apply(row, resolve(user.id, row.reference), rule))
        rows.append(row)
    manager_store.save(session, rows=rows)
    return [change for change in changes if change is not None]


def with_managers(session: Session, *, tenant: str, users: Iterable[UserRecord]) -> list[UserRecord]:
    """The users as replies show them: with their resolved manager."""
    users = list(users)
    rows = manager_store.links(session, tenant=tenant, user_ids=[user.id for user in users])
    return [user.model_copy(update=_resolved(rows.get(user.id))) for user in users]


def _resolved(row: UserManagerRow | None) -> dict[str, Any]:
    if row is None:
        return {"manager_id": None, "manager_via": None}
    return {"manager_id": row.manager_id, "manager_via": ManagerVia(row.via)}
