"""The users service process: wiring only."""

from __future__ import annotations

import logging
import sys

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from contracts.envelope import Message, wrap
from contracts.topics import SEATS_EVENTS, USERS_COMMANDS, USERS_EVENTS, USERS_QUERIES, resource_key
from contracts.users import UserRecord, UserUpdated
from servicekit.messaging import enqueue_envelope
from servicekit.service import Periodic, ServiceDefinition, run_process
from services.users import manager_store, managers, store
from services.users.config import UsersSettings
from services.users.handlers import COMMAND_HANDLERS, QUERY_HANDLERS
from services.users.manager_store import MANAGER_TABLES
from services.users.messages import PRODUCER
from services.users.pending import PENDING_TABLES
from services.users.seating import SEAT_EVENT_HANDLERS, ask_again_for_lost_decisions
from services.users.store import USER_TABLES

log = logging.getLogger(__name__)
_BACKFILL_BATCH = 500
_BACKFILL_CONFLICTS = 20


def backfill_search_index(engine: Engine) -> int:
    """Index the users stored before the search index existed, or indexed by an older
    ``INDEX_VERSION``; a no-op once they all are.

    Runs before the consumers start, so filters never miss a user. Another instance doing the same
    at the same time makes a batch conflict on the index's primary key: that batch is retried.
    """
    with Session(engine) as session, session.begin():
        if store.discard_outdated_index(session):
            log.info("the search index was written by another version: indexing every user again")
    indexed, conflicts = 0, 0
    while True:
        try:
            with Session(engine) as session, session.begin():
                seqs = store.unindexed_user_seqs(session, limit=_BACKFILL_BATCH)
                if not seqs:
                    break
                indexed += store.index_users(session, seqs)
        except IntegrityError:
            conflicts += 1
            if conflicts > _BACKFILL_CONFLICTS:
                raise
    if indexed:
        log.info("indexed %d users written before the search index existed", indexed)
    return indexed


def _link_and_announce(session: Session, tenant: str, users: list[UserRecord]) -> None:
    changes = managers.link_unlinked(session, tenant=tenant, users=users)
    # A snapshot first: a consumer that started after these users' events left the topic (the teams
    # service, new with this feature) learns their name and activation, not only their manager.
    stamped = managers.with_managers(session, tenant=tenant, users=users)
    events: list[tuple[str, Message]] = [(user.id, UserUpdated(user=user)) for user in stamped]
    events += [(change.user_id, change) for change in changes]
    for user_id, event in events:
        envelope = wrap(event, tenant=tenant, producer=PRODUCER)
        enqueue_envelope(session, topic=USERS_EVENTS, key=resource_key(tenant, user_id), envelope=envelope)


def backfill_managers(engine: Engine) -> int:
    """Resolve the managers of users stored before the manager relation existed; a no-op once every
    user has been. Announced like any resolution, so the teams service builds their manager teams."""
    linked = 0
    while True:
        with Session(engine) as session, session.begin():
            batch = manager_store.unlinked_users(session, limit=_BACKFILL_BATCH)
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


def prepare(engine: Engine) -> None:
    backfill_search_index(engine)
    backfill_managers(engine)  # after the search index: resolution looks references up in it


DEFINITION = ServiceDefinition(
    name="users",
    tables=(*USER_TABLES, *PENDING_TABLES, *MANAGER_TABLES),
    subscriptions={USERS_COMMANDS: COMMAND_HANDLERS, USERS_QUERIES: QUERY_HANDLERS},
    owned_topics=(USERS_COMMANDS, USERS_QUERIES, USERS_EVENTS),
    listens={SEATS_EVENTS: SEAT_EVENT_HANDLERS},
    prepare=prepare,
    periodic=(Periodic("sagas asked again for a lost seat decision", 30.0, ask_again_for_lost_decisions),),
)


def main() -> None:
    run_process(DEFINITION, UsersSettings(), sys.argv[1:])


if __name__ == "__main__":
    main()
