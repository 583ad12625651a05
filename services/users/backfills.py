"""Data written before a feature existed, brought up to date: the search index (keyed by
``attributes.INDEX_VERSION``, a code step of the migrations), the manager relation (the data
migration ``v0002``) and the userName keys (``v0004``). Each is idempotent; ``bind`` is an engine,
or the connection a migration runs on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from sqlalchemy import Connection, Engine, Executable, bindparam, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from contracts.envelope import Message, wrap
from contracts.topics import USERS_EVENTS, resource_key
from contracts.users import UserRecord, UserUpdated
from servicekit.messaging import enqueue_envelopes
from servicekit.migrations import DataRefused
from services.users import manager_store, managers, search_index, store
from services.users.attributes import INDEX_VERSION
from services.users.messages import PRODUCER
from services.users.pending import PendingChange
from services.users.search_index import SearchIndexState

log = logging.getLogger(__name__)
_BATCH = 500
_CONFLICTS = 20


def search_index_is_current(connection: Connection) -> bool:
    """The index was written by this code's ``INDEX_VERSION``."""
    version = connection.execute(select(SearchIndexState.version).where(SearchIndexState.id == 1))
    return version.scalar() == INDEX_VERSION


def discard_outdated_index(session: Session) -> bool:
    """Forget every index entry written by another ``INDEX_VERSION``; True if there were any."""
    state = session.get(SearchIndexState, 1, with_for_update=True)
    if state is not None and state.version == INDEX_VERSION:
        return False
    session.execute(delete(search_index.UserAttributeRow))
    session.merge(SearchIndexState(id=1, version=INDEX_VERSION))
    return state is not None


def unindexed_user_seqs(session: Session, *, limit: int) -> list[int]:
    """Live users written before the search index existed (every indexed user has an ``id`` entry)."""
    entry = aliased(search_index.UserAttributeRow)
    indexed = (
        select(entry.user_seq)
        .where(col(entry.user_seq) == col(store.UserRow.seq), col(entry.path) == "id")
        .exists()
    )
    query = select(store.UserRow.seq).where(col(store.UserRow.deleted_at).is_(None), ~indexed).limit(limit)
    return [seq for seq in session.exec(query) if seq is not None]


def index_users(session: Session, seqs: Iterable[int]) -> int:
    """Write the index entries of users that have none (``unindexed_user_seqs``).

    Never deletes: if a concurrent write indexed one of them meanwhile, the primary key refuses the
    stale entries (IntegrityError) instead of letting them replace fresh ones.
    """
    count = 0
    for seq in seqs:
        row = session.get(store.UserRow, seq)
        if row is None or row.deleted_at is not None:
            continue
        search_index.insert_index_rows(
            session, search_index.index_rows(seq=seq, tenant=row.tenant, user=store.record_of(row))
        )
        count += 1
    return count


def refresh_search_index(bind: Engine | Connection) -> int:
    """Index the users stored before the search index existed, or indexed by another
    ``INDEX_VERSION`` (the entries are computed by this code, so no schema revision can carry them);
    a no-op once they all are. Another process indexing the same users at the same time makes a
    batch conflict on the index's primary key: that batch is retried."""
    with Session(bind) as session, session.begin():
        if discard_outdated_index(session):
            log.info("the search index was written by another version: indexing every user again")
    indexed, conflicts = 0, 0
    while True:
        try:
            with Session(bind) as session, session.begin():
                seqs = unindexed_user_seqs(session, limit=_BATCH)
                if not seqs:
                    break
                indexed += index_users(session, seqs)
        except IntegrityError:
            conflicts += 1
            if conflicts > _CONFLICTS:
                raise
    if indexed:
        log.info("indexed %d users", indexed)
    return indexed


def _link_and_announce(session: Session, tenant: str, users: list[UserRecord]) -> None:
    changes = managers.link_unlinked(session, tenant=tenant, users=users)
    # A snapshot first: a consumer that started after these users' events left the topic (the teams
    # service) learns their name and activation, not only their manager.
    stamped = managers.with_managers(session, tenant=tenant, users=users)
    events: list[tuple[str, Message]] = [(user.id, UserUpdated(user=user)) for user in stamped]
    events += [(change.user_id, change) for change in changes]
    enqueue_envelopes(
        session,
        [
            (USERS_EVENTS, resource_key(tenant, user_id), wrap(event, tenant=tenant, producer=PRODUCER))
            for user_id, event in events
        ],
    )


def link_managers(bind: Engine | Connection) -> int:
    """Resolve the managers of users stored before the manager relation existed; a no-op once every
    user has been. Announced like any resolution, so the teams service builds their manager teams.
    Resolution looks references up in the search index: refresh it first."""
    linked = 0
    while True:
        with Session(bind) as session, session.begin():
            batch = manager_store.unlinked_users(session, limit=_BATCH)
            if not batch:
                break
            by_tenant: dict[str, list[UserRecord]] = {}
            for tenant, user in batch:
                by_tenant.setdefault(tenant, []).append(user)
            for tenant, users in by_tenant.items():
                _link_and_announce(session, tenant, users)
            linked += len(batch)
    if linked:
        log.info("resolved the managers of %d users written before manager resolution existed", linked)
    return linked


@dataclass(frozen=True)
class _Rekeyed:
    user_id: str
    tenant: str
    user_name: str
    key: str


# Users, then changes waiting for a seat: (user id, tenant, userName or the user's record, stored key).
_STORED_KEYS: tuple[Executable, Executable] = (
    select(
        store.UserRow.id, store.UserRow.tenant, store.UserRow.user_name, store.UserRow.user_name_key
    ).where(
        col(store.UserRow.user_name_key).is_not(None)  # deleted users hold no name
    ),
    select(PendingChange.user_id, PendingChange.tenant, PendingChange.record, PendingChange.user_name_key),
)


# Who holds a key: (user id, userName or the user's record).
_HOLDERS: tuple[Executable, Executable] = (
    select(store.UserRow.id, store.UserRow.user_name).where(
        col(store.UserRow.tenant) == bindparam("tenant"), col(store.UserRow.user_name_key) == bindparam("key")
    ),
    select(PendingChange.user_id, PendingChange.record).where(
        col(PendingChange.tenant) == bindparam("tenant"), col(PendingChange.user_name_key) == bindparam("key")
    ),
)


def rekey_user_names(connection: Connection, key_of: Callable[[str], str]) -> int:
    """Revision 0004 and its downgrade: every stored userName key becomes ``key_of`` the name. The
    two keys differ only for names whose lower case NFC composes further (a decomposed capital with
    no precomposed form, such as "J\u030c"); ASCII keys are the same in both, so their names are not
    even parsed. Assumes every stored key is one of the two (each release wrote its own).

    Two users, or a user and another user's change waiting for a seat, whose names one key makes one
    are refused before anything is written (``DataRefused``): which of them keeps the name is the
    identity provider's call, not the migration's. Returns how many keys changed."""
    users, waiting = (_changed_keys(connection, stored, key_of) for stored in _STORED_KEYS)
    clashes = _clashes(connection, users + waiting)
    if clashes:
        raise DataRefused(
            "these userNames are one name under this release's comparison (case-insensitive, in NFC: "
            f"RFC 7643 §4.1.1), which only one user may hold: {'; '.join(clashes)}. Nothing was changed: "
            "with the release you upgrade from serving again, rename or delete one of each pair in the "
            "identity provider (a change waiting for a seat ends within 15 minutes while it serves), "
            "then stop its users instances and migrate again"
        )
    for row in users:
        connection.execute(
            update(store.UserRow).where(col(store.UserRow.id) == row.user_id).values(user_name_key=row.key)
        )
    for row in waiting:
        connection.execute(
            update(PendingChange)
            .where(col(PendingChange.user_id) == row.user_id)
            .values(user_name_key=row.key)
        )
    if users or waiting:
        log.info("rewrote the userName keys of %d users and %d waiting changes", len(users), len(waiting))
    return len(users) + len(waiting)


def _changed_keys(
    connection: Connection, stored_keys: Executable, key_of: Callable[[str], str]
) -> list[_Rekeyed]:
    changed = []
    for user_id, tenant, name_or_record, stored in connection.execute(
        stored_keys, execution_options={"yield_per": _BATCH}
    ):
        if stored.isascii():
            continue
        name = _user_name(name_or_record)
        if key_of(name) != stored:
            changed.append(_Rekeyed(user_id=user_id, tenant=tenant, user_name=name, key=key_of(name)))
    return changed


def _user_name(name_or_record: str | dict[str, Any]) -> str:
    if isinstance(name_or_record, str):
        return name_or_record
    return UserRecord.model_validate(name_or_record).profile.user_name


def _clashes(connection: Connection, changed: list[_Rekeyed]) -> list[str]:
    """Pairs of different users that would hold one key: a changed row and a row keeping that key
    (a row already holding a key in NFC keeps it), or two changed rows. A user and their own waiting
    change share their name."""
    holders: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for row in changed:
        holders.setdefault((row.tenant, row.key), set()).add((row.user_id, row.user_name))
    for (tenant, key), new_holders in holders.items():
        for holders_of_key in _HOLDERS:
            for holder, name_or_record in connection.execute(holders_of_key, {"tenant": tenant, "key": key}):
                new_holders.add((holder, _user_name(name_or_record)))
    return sorted(
        f"tenant {tenant}: user {first} ({first_name!r}) and user {second} ({second_name!r})"
        for (tenant, _), names in holders.items()
        for (first, first_name), (second, second_name) in combinations(sorted(names), 2)
        if first != second
    )
