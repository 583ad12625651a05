"""Users handlers: load → ask the domain → save, and say what to send. Never publish here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlmodel import Session

from contracts.envelope import Envelope
from contracts.replies import Deleted
from contracts.users import (
    CreateUser,
    DeleteUser,
    FindUserIds,
    GetDefaultManager,
    GetUser,
    ListActiveUserIds,
    ListUsers,
    ReconcileSeat,
    ReplaceUser,
    SetDefaultManager,
    UserCreated,
    UserIds,
    UserPage,
    UserRecord,
    UserReply,
)
from servicekit.records import HandlerMap, Outgoing, reply_to
from services.users import (
    allowance,
    domain,
    filters,
    manager_store,
    managers,
    name_lookup,
    pending,
    seating,
    sorting,
    store,
)
from services.users.messages import PRODUCER, release_seat, user_event
from services.users.pending import PendingKind
from services.users.relinked import Relinked, announce, announce_default


def _claims(session: Session, tenant: str, user_name: str, user_id: str) -> store.Claims:
    store.lock_user_name(session, tenant=tenant, user_name=user_name)
    return store.claims(session, tenant=tenant, user_name=user_name, user_id=user_id)


def _ensure_name_free(claims: store.Claims, user_name: str, user_id: str) -> None:
    domain.ensure_name_not_being_provisioned(user_name, holder_id=claims.provisioning_id, user_id=user_id)
    domain.ensure_user_name_free(user_name, holder_id=claims.name_holder_id, user_id=user_id)


def create_user(session: Session, envelope: Envelope, command: CreateUser) -> list[Outgoing]:
    tenant = envelope.tenant
    claims = _claims(session, tenant, command.profile.user_name, command.user_id)
    domain.ensure_id_never_used(command.user_id, used=claims.id_used)
    _ensure_name_free(claims, command.profile.user_name, command.user_id)
    user = domain.new_user(user_id=command.user_id, profile=command.profile, now=datetime.now(UTC))
    if domain.seat_effect(was_active=False, now_active=user.profile.is_active) == domain.SeatEffect.RESERVE:
        return seating.begin(session, envelope, kind=PendingKind.CREATE, user=user, expected_version=None)
    store.add_user(session, tenant=tenant, user=user)  # inactive: holds no seat
    relinked = managers.user_written(session, tenant=tenant, before=None, after=user)
    user = relinked.stamp(user)
    return [
        user_event(envelope, user.id, UserCreated(user=user)),
        *relinked.announced(envelope),
        *reply_to(envelope, UserReply(user=user), producer=PRODUCER),
    ]


def _existing(session: Session, envelope: Envelope, user_id: str) -> UserRecord:
    user = store.get_user(session, tenant=envelope.tenant, user_id=user_id)
    if user is None:
        raise domain.not_found(user_id)
    return user


def _unchanging(session: Session, envelope: Envelope, user_id: str) -> UserRecord:
    """The user, locked, provided no change of theirs is waiting for a seat."""
    current = store.lock_user(session, tenant=envelope.tenant, user_id=user_id)
    if current is None:
        raise domain.not_found(user_id)
    # Read after the lock: a saga step finishing concurrently has either committed or waits for us.
    waiting = pending.get_pending(session, tenant=envelope.tenant, user_id=user_id) is not None
    domain.ensure_nothing_pending(user_id, pending=waiting)
    return current


def replace_user(session: Session, envelope: Envelope, command: ReplaceUser) -> list[Outgoing]:
    tenant = envelope.tenant
    current = _unchanging(session, envelope, command.user_id)
    user_name = command.profile.user_name
    _ensure_name_free(_claims(session, tenant, user_name, command.user_id), user_name, command.user_id)
    updated, events = domain.replace_user(
        current, profile=command.profile, expected_version=command.expected_version, now=datetime.now(UTC)
    )
    effect = domain.seat_effect(was_active=current.profile.is_active, now_active=updated.profile.is_active)
    if effect == domain.SeatEffect.RESERVE:
        kind = PendingKind.REACTIVATE
        return seating.begin(session, envelope, kind=kind, user=updated, expected_version=current.version)
    relinked = Relinked(manager_id=None)
    if events:
        store.replace_user(session, tenant=tenant, user=updated)
        relinked = managers.user_written(session, tenant=tenant, before=current, after=updated)
        updated, events = relinked.stamp(updated), relinked.stamp_events(events)
    else:
        [updated] = managers.with_managers(session, tenant=tenant, users=[updated])
    seat = [release_seat(envelope, current.id)] if effect == domain.SeatEffect.RELEASE else []
    return [
        *(user_event(envelope, updated.id, event) for event in events),
        *relinked.announced(envelope),
        *seat,
        *reply_to(envelope, UserReply(user=updated), producer=PRODUCER),
    ]


def delete_user(session: Session, envelope: Envelope, command: DeleteUser) -> list[Outgoing]:
    current = _unchanging(session, envelope, command.user_id)
    events = domain.delete_user(current, expected_version=command.expected_version)
    store.delete_user(session, tenant=envelope.tenant, user_id=current.id, now=datetime.now(UTC))
    relinked = managers.user_written(session, tenant=envelope.tenant, before=current, after=None)
    seat = [release_seat(envelope, current.id)] if current.profile.is_active else []
    return [
        *(user_event(envelope, current.id, event) for event in events),
        *relinked.announced(envelope),
        *seat,
        *reply_to(envelope, Deleted(resource_id=current.id), producer=PRODUCER),
    ]


def get_user(session: Session, envelope: Envelope, query: GetUser) -> list[Outgoing]:
    [user] = managers.with_managers(
        session, tenant=envelope.tenant, users=[_existing(session, envelope, query.user_id)]
    )
    return reply_to(envelope, UserReply(user=user), producer=PRODUCER)


def _matching(session: Session, tenant: str, query: ListUsers) -> tuple[int, Sequence[UserRecord]]:
    parsed = filters.parse(query.filter) if query.filter else None
    offset, limit = query.start_index - 1, query.count
    key = name_lookup.user_name_key_sought(parsed) if parsed else None
    # A sortBy is judged even where it cannot change the order (one user at most): refused the same.
    sort = sorting.sort_order(query.sort_by, descending=query.sort_descending) if query.sort_by else None
    if key is not None:
        return store.users_named(session, tenant=tenant, name_key=key, offset=offset, limit=limit)
    condition = filters.to_condition(parsed, tenant=tenant) if parsed else None
    return store.find_users(
        session, tenant=tenant, condition=condition, sort=sort, offset=offset, limit=limit
    )


def list_users(session: Session, envelope: Envelope, query: ListUsers) -> list[Outgoing]:
    total, users = _matching(session, envelope.tenant, query)
    users = managers.with_managers(session, tenant=envelope.tenant, users=users)
    page = UserPage(total_results=total, start_index=query.start_index, users=tuple(users))
    return reply_to(envelope, page, producer=PRODUCER)


def list_active_user_ids(session: Session, envelope: Envelope, query: ListActiveUserIds) -> list[Outgoing]:
    tenant = envelope.tenant
    first = query.after is None
    in_flight = tuple(pending.pending_user_ids(session, tenant=tenant)) if first else ()
    unspent = allowance.unspent(session, tenant=tenant) if first else 0
    page = store.active_user_ids(session, tenant=tenant, after=query.after, limit=query.limit)
    active = UserIds(user_ids=tuple(page), in_flight=in_flight, allowance_unspent=unspent)
    return reply_to(envelope, active, producer=PRODUCER)


def find_user_ids(session: Session, envelope: Envelope, query: FindUserIds) -> list[Outgoing]:
    """The given ids that are live users of the tenant, in the order given; ids whose create waits
    for a seat are ``in_flight`` (they exist for the requester, just not yet)."""
    tenant, wanted = envelope.tenant, list(dict.fromkeys(query.user_ids))
    live = manager_store.live_user_ids(session, tenant=tenant, user_ids=wanted)
    pending_ids = set(pending.pending_user_ids(session, tenant=tenant))
    found = UserIds(
        user_ids=tuple(user_id for user_id in wanted if user_id in live),
        in_flight=tuple(user_id for user_id in wanted if user_id in pending_ids and user_id not in live),
    )
    return reply_to(envelope, found, producer=PRODUCER)


def set_default_manager(session: Session, envelope: Envelope, command: SetDefaultManager) -> list[Outgoing]:
    choice = managers.choose_default(session, tenant=envelope.tenant, chosen_id=command.user_id)
    return [
        *announce_default(envelope, choice.announced),
        *announce(envelope, choice.changes),
        *reply_to(envelope, choice.reply, producer=PRODUCER),
    ]


def get_default_manager(session: Session, envelope: Envelope, _query: GetDefaultManager) -> list[Outgoing]:
    default = managers.current_default(session, tenant=envelope.tenant)
    return reply_to(envelope, default, producer=PRODUCER)


COMMAND_HANDLERS: HandlerMap = {
    CreateUser: create_user,
    ReplaceUser: replace_user,
    DeleteUser: delete_user,
    ReconcileSeat: seating.reconcile_seat,
    SetDefaultManager: set_default_manager,
}
QUERY_HANDLERS: HandlerMap = {
    GetUser: get_user,
    ListUsers: list_users,
    ListActiveUserIds: list_active_user_ids,
    FindUserIds: find_user_ids,
    GetDefaultManager: get_default_manager,
}
