"""Seats handlers: lock the tenant → ask the domain → save, and say what to send."""

from __future__ import annotations

from sqlmodel import Session

from contracts.envelope import Envelope, Message, wrap_descendant
from contracts.seats import (
    GetSeatUsage,
    ListSeatHolders,
    ReleaseSeat,
    ReserveSeat,
    SeatHolders,
    SeatUsage,
    SetSeatLimit,
)
from contracts.topics import SEATS_EVENTS, resource_key
from servicekit import faults
from servicekit.handling import HandlerMap, Outgoing, reply_to
from services.seats import domain, store

PRODUCER = "seats"


def _events(cause: Envelope, subject: str, events: list[Message]) -> list[Outgoing]:
    key = resource_key(cause.tenant, subject)
    return [
        Outgoing(topic=SEATS_EVENTS, key=key, envelope=wrap_descendant(event, cause=cause, producer=PRODUCER))
        for event in events
    ]


def _seat_state(session: Session, tenant: str, user_id: str) -> domain.SeatState:
    limit = store.lock_tenant(session, tenant=tenant)  # first: the tenant's seats are counted one at a time
    holds = store.holds_seat(session, tenant=tenant, user_id=user_id)
    return domain.SeatState(
        user_id=user_id, holds=holds, used=store.seats_used(session, tenant=tenant), limit=limit
    )


def reserve_seat(session: Session, envelope: Envelope, command: ReserveSeat) -> list[Outgoing]:
    tenant = envelope.tenant
    take, events = domain.reserve(_seat_state(session, tenant, command.user_id))
    faults.check("seats.reserve")
    if take:
        store.take_seat(session, tenant=tenant, user_id=command.user_id)
    return _events(envelope, command.user_id, events)


def release_seat(session: Session, envelope: Envelope, command: ReleaseSeat) -> list[Outgoing]:
    tenant = envelope.tenant
    free, events = domain.release(_seat_state(session, tenant, command.user_id))
    if free:
        store.free_seat(session, tenant=tenant, user_id=command.user_id)
    return _events(envelope, command.user_id, events)


def set_seat_limit(session: Session, envelope: Envelope, command: SetSeatLimit) -> list[Outgoing]:
    tenant = envelope.tenant
    store.lock_tenant(session, tenant=tenant)
    store.set_limit(session, tenant=tenant, limit=command.limit)
    used = store.seats_used(session, tenant=tenant)
    events = domain.change_limit(used=used, limit=command.limit)
    usage = SeatUsage(limit=command.limit, used=used)
    return [*_events(envelope, "limit", events), *reply_to(envelope, usage, producer=PRODUCER)]


def get_seat_usage(session: Session, envelope: Envelope, _query: GetSeatUsage) -> list[Outgoing]:
    limit = store.limit_of(session, tenant=envelope.tenant)
    usage = SeatUsage(limit=limit, used=store.seats_used(session, tenant=envelope.tenant))
    return reply_to(envelope, usage, producer=PRODUCER)


def list_seat_holders(session: Session, envelope: Envelope, query: ListSeatHolders) -> list[Outgoing]:
    page = store.seat_holders(session, tenant=envelope.tenant, after=query.after, limit=query.limit)
    holders = SeatHolders(user_ids=tuple(page))
    return reply_to(envelope, holders, producer=PRODUCER)


COMMAND_HANDLERS: HandlerMap = {
    ReserveSeat: reserve_seat,
    ReleaseSeat: release_seat,
    SetSeatLimit: set_seat_limit,
}
QUERY_HANDLERS: HandlerMap = {GetSeatUsage: get_seat_usage, ListSeatHolders: list_seat_holders}
