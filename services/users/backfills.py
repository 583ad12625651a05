"""Data written before a feature existed, brought up to date: the search index (keyed by
``attributes.INDEX_VERSION``, a code step of the migrations) and the manager relation (the data
migration ``v0002``). Each is idempotent and works in batches; ``bind`` is an engine, or the
connection a migration runs on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from contracts.envelope import Message, wrap
from contracts.topics import USERS_EVENTS, resource_key
from contracts.users import UserRecord, UserUpdated
from servicekit.messaging import enqueue_envelopes
from services.users import manager_store, managers, search_index, store
from services.users.attributes import INDEX_VERSION
from services.users.messages import PRODUCER
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
