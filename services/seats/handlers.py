"""Seats handlers: lock the tenant → ask the domain → save, and say what to send."""

from __future__ import annotations

import logging
from functools import partial
from uuid import UUID

from sqlmodel import Session

from contracts.envelope import Envelope, Message, wrap_descendant
from contracts.seats import (
    GetSeatUsage,
    ListSeatHolders,
    RecallSeatAllowance,
    ReleaseSeat,
    ReserveSeat,
    ReturnSeatAllowance,
    SeatAllowanceRecalled,
    SeatHolders,
    SeatUsage,
    SetSeatLimit,
    TakeAllowedSeat,
)
from contracts.topics import SEATS_EVENTS, tenant_key
from servicekit import faults
from servicekit.records import HandlerMap, Outgoing, deferred_reply, reply_to
from services.seats import domain, store

PRODUCER = "seats"

log = logging.getLogger(__name__)


def _events(cause: Envelope, events: list[Message]) -> list[Outgoing]:
    key = tenant_key(cause.tenant)
    return [
        Outgoing(topic=SEATS_EVENTS, key=key, envelope=wrap_descendant(event, cause=cause, producer=PRODUCER))
        for event in events
    ]


def reserve_seat(
    session: Session, envelope: Envelope, command: ReserveSeat, *, allowance_block: int
) -> list[Outgoing]:
    tenant = envelope.tenant
    state = store.seat_state(session, tenant=tenant, user_id=command.user_id)  # the tenant locked first
    decision = domain.reserve(state, block=allowance_block)
    faults.check("seats.reserve")
    if decision.take:
        store.take_seat(session, tenant=tenant, user_id=command.user_id)
    if decision.grant:
        store.save_tenant(
            session, tenant=tenant, limit=state.limit, allowance=state.allowance + decision.grant
        )
        store.count_grant(session, tenant=tenant, amount=decision.grant)
    return _events(envelope, decision.events)


def take_allowed_seat(session: Session, envelope: Envelope, command: TakeAllowedSeat) -> list[Outgoing]:
    tenant = envelope.tenant
    state = store.seat_state(session, tenant=tenant, user_id=command.user_id)  # the tenant locked first
    take, events = domain.take_allowed(state)
    left = domain.allowance_after_take(allowance=state.allowance)
    store.spend_allowance(session, tenant=tenant, left=left, taken_by=command.user_id if take else None)
    return _events(envelope, events)


def release_seat(session: Session, envelope: Envelope, command: ReleaseSeat) -> list[Outgoing]:
    tenant = envelope.tenant
    state = store.seat_state(session, tenant=tenant, user_id=command.user_id)  # the tenant locked first
    free, events = domain.release(state)
    if free:
        store.free_seat(session, tenant=tenant, user_id=command.user_id)
    return _events(envelope, events)


def set_seat_limit(session: Session, envelope: Envelope, command: SetSeatLimit) -> list[Outgoing]:
    """The new limit applies at once; if the allowance does not fit under it, the answer waits until
    the users service gave it back (``return_allowance``), so nobody becomes active on a seat the
    confirmed limit does not have."""
    tenant = envelope.tenant
    row = store.lock_tenant(session, tenant=tenant)
    store.save_tenant(session, tenant=tenant, limit=command.limit, allowance=row.allowance)
    used = row.used
    events = domain.change_limit(used=used, limit=command.limit)
    if domain.must_recall(used=used, allowance=row.allowance, limit=command.limit):
        return _events(envelope, [*events, _recall(session, envelope, round=row.round + 1)])
    usage = SeatUsage(limit=command.limit, used=used, set_aside=row.allowance)
    return [*_events(envelope, events), *reply_to(envelope, usage, producer=PRODUCER)]


def recall_allowance(session: Session, envelope: Envelope, _command: RecallSeatAllowance) -> list[Outgoing]:
    """A repair: the allowance comes back and is counted again (``count_return``). Nobody waits for
    the answer; the seat usage shows the outcome."""
    row = store.lock_tenant(session, tenant=envelope.tenant)
    if not domain.must_recount(
        allowance=row.allowance, recalling=store.recalling(session, tenant=envelope.tenant)
    ):
        return []
    return _events(envelope, [_recall(session, envelope, round=row.round + 1)])


def _recall(session: Session, envelope: Envelope, *, round: int) -> SeatAllowanceRecalled:
    """Recall ``round``, remembered with who waits for its answer (the caller holds the tenant's lock)."""
    recall_id = str(envelope.message_id)
    store.add_recall(session, recall_id=recall_id, tenant=envelope.tenant, round=round,
                     reply_to=envelope.reply_to, correlation_id=str(envelope.correlation_id))  # fmt: skip
    return SeatAllowanceRecalled(recall_id=recall_id, round=round)


def return_allowance(session: Session, envelope: Envelope, command: ReturnSeatAllowance) -> list[Outgoing]:
    tenant = envelope.tenant
    row = store.lock_tenant(session, tenant=tenant)
    left = _left_after_return(session, tenant, row.allowance, command)
    store.save_tenant(session, tenant=tenant, limit=row.seat_limit, allowance=left)
    usage = SeatUsage(limit=row.seat_limit, used=row.used, set_aside=left)
    answers: list[Outgoing] = []
    for recall in store.pop_recalls(session, recall_id=command.recall_id):
        correlation_id = UUID(recall.correlation_id)
        answers += deferred_reply(reply_topic=recall.reply_to, tenant=tenant, correlation_id=correlation_id,
                                  cause=envelope, message=usage, producer=PRODUCER)  # fmt: skip
    return answers


def _left_after_return(session: Session, tenant: str, allowance: int, command: ReturnSeatAllowance) -> int:
    if command.received_total is None or command.returned_total is None:  # a users service keeping no totals
        return domain.allowance_after_return(allowance=allowance, returned=command.amount)
    counted = domain.count_return(
        allowance=allowance,
        book=store.allowance_book(session, tenant=tenant),
        round=command.round,
        received_total=command.received_total,
        returned_total=command.returned_total,
    )
    if counted is None:
        return allowance
    if counted.never_arrived:
        log.warning("%d seats of allowance grants that never reached the users service are free again",
                    counted.never_arrived)  # fmt: skip
    store.save_allowance_book(session, tenant=tenant, book=counted.book)
    return counted.allowance


def get_seat_usage(session: Session, envelope: Envelope, _query: GetSeatUsage) -> list[Outgoing]:
    limit, used, set_aside = store.usage(session, tenant=envelope.tenant)
    usage = SeatUsage(limit=limit, used=used, set_aside=set_aside)
    return reply_to(envelope, usage, producer=PRODUCER)


def list_seat_holders(session: Session, envelope: Envelope, query: ListSeatHolders) -> list[Outgoing]:
    page = store.seat_holders(session, tenant=envelope.tenant, after=query.after, limit=query.limit)
    holders = SeatHolders(user_ids=tuple(page))
    return reply_to(envelope, holders, producer=PRODUCER)


def command_handlers(*, allowance_block: int) -> HandlerMap:
    return {
        ReserveSeat: partial(reserve_seat, allowance_block=allowance_block),
        TakeAllowedSeat: take_allowed_seat,
        ReleaseSeat: release_seat,
        ReturnSeatAllowance: return_allowance,
        SetSeatLimit: set_seat_limit,
        RecallSeatAllowance: recall_allowance,
    }


COMMAND_HANDLERS = command_handlers(allowance_block=domain.DEFAULT_ALLOWANCE_BLOCK)
QUERY_HANDLERS: HandlerMap = {GetSeatUsage: get_seat_usage, ListSeatHolders: list_seat_holders}
