"""The seat saga (docs/architecture.md §4): a create or a reactivation needs a seat.

``begin`` takes one of the allowance the seats service set aside for this service, if any is left,
and finishes the change at once (``TakeAllowedSeat`` tells the seats service). Otherwise it parks the
change and asks for a seat; the seats service's ``SeatReserved`` finishes it (event + the reply the
requester waits for), its ``SeatDenied`` rolls it back (403) — unless an allowance arrived meanwhile,
which is spent before anyone is refused. Every step is
one transaction with its inbox entry and outbox messages, so a crash anywhere resumes, never
half-creates. A saga that cannot finish — its ``SeatReserved`` failed every delivery, or no decision
came for ``GIVE_UP_AFTER`` — is undone (``abandon``): the change dropped, the seat released, the
requester answered 500. Every saga ends.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlmodel import Session

from contracts.envelope import Envelope, Message
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.seats import (
    ReleaseSeat,
    ReserveSeat,
    ReturnSeatAllowance,
    SeatAllowanceGranted,
    SeatAllowanceRecalled,
    SeatDenied,
    SeatReserved,
)
from contracts.users import ReconcileSeat, UserCreated, UserRecord, UserReply
from servicekit import faults
from servicekit.clock import as_utc
from servicekit.messaging import enqueue_envelopes
from servicekit.records import HandlerMap, NeedlessCheck, Outgoing, deferred_reply
from services.users import allowance, domain, managers, pending, store
from services.users.messages import (
    PRODUCER,
    in_saga,
    release_seat,
    reserve_seat,
    take_allowed_seat,
    to_seats,
    user_event,
)
from services.users.pending import PendingChange, PendingKind

log = logging.getLogger(__name__)


def begin(
    session: Session, envelope: Envelope, *, kind: PendingKind, user: UserRecord, expected_version: int | None
) -> list[Outgoing]:
    change = pending.new_change(
        tenant=envelope.tenant,
        kind=kind,
        user=user,
        expected_version=expected_version,
        reply_to=envelope.reply_to,
        correlation_id=str(envelope.correlation_id),
    )
    if allowance.spend(session, tenant=envelope.tenant):
        return _finish_on_allowance(session, envelope, change)
    pending.park(session, change=change)
    faults.check("users.park")
    return [reserve_seat(envelope, user.id)]


def _finish_on_allowance(session: Session, envelope: Envelope, change: PendingChange) -> list[Outgoing]:
    user, events = _finish(session, envelope, change)
    return [*events, take_allowed_seat(envelope, user.id), *_answer(change, envelope, UserReply(user=user))]


def _answer(change: PendingChange, cause: Envelope | None, message: Message) -> list[Outgoing]:
    return deferred_reply(
        reply_topic=change.reply_to,
        tenant=change.tenant,
        correlation_id=UUID(change.correlation_id),
        cause=cause,
        message=message,
        producer=PRODUCER,
    )


def _finish(session: Session, envelope: Envelope, change: PendingChange) -> tuple[UserRecord, list[Outgoing]]:
    tenant, wanted = envelope.tenant, change.user
    if change.kind == PendingKind.CREATE:
        store.add_user(session, tenant=tenant, user=wanted)
        relinked = managers.user_written(session, tenant=tenant, before=None, after=wanted)
        created = relinked.stamp(wanted)
        return created, [
            user_event(envelope, wanted.id, UserCreated(user=created)),
            *relinked.announced(envelope),
        ]
    current = store.lock_user(session, tenant=tenant, user_id=wanted.id)
    assert current is not None, "a user with a pending change cannot be deleted"
    updated, events = domain.replace_user(
        current, profile=wanted.profile, expected_version=change.expected_version, now=datetime.now(UTC)
    )
    store.replace_user(session, tenant=tenant, user=updated)
    relinked = managers.user_written(session, tenant=tenant, before=current, after=updated)
    return relinked.stamp(updated), [
        *(user_event(envelope, updated.id, event) for event in relinked.stamp_events(events)),
        *relinked.announced(envelope),
    ]


def _waiting_for(session: Session, envelope: Envelope, user_id: str) -> PendingChange | None:
    """The change this seat decision answers: one waiting for ``user_id`` in the decision's own
    conversation. A decision for anything else (a repair's, an allowed seat's) finishes nothing."""
    change = pending.get_pending(session, tenant=envelope.tenant, user_id=user_id)
    if change is None or change.correlation_id != str(envelope.correlation_id):
        return None
    return change


def nothing_waits(session: Session, envelope: Envelope, event: SeatReserved) -> bool:
    """A seat decision no change waits for, for a user who keeps the seat, needs no transaction
    (servicekit.handling ``needless``): the allowed seats' ``SeatReserved`` (one per create on the
    allowance), repairs', redeliveries. Exact, because no change can start waiting for it later: a
    change waits in its request's conversation from before the ``ReserveSeat`` it sends, and a request
    parks at most once (docs/architecture.md §4). An allowed seat's (``from_allowance``) is waited for
    by nobody: one read of its user settles it. An active user keeps the seat; one since deactivated
    normally had it freed by the ``ReleaseSeat`` that followed the ``TakeAllowedSeat`` on the tenant's
    key, but a dead-lettered ``TakeAllowedSeat`` replayed after that release took it again — then the
    handler gives it back."""
    if event.from_allowance:
        return event.user_id in store.active_among(session, tenant=envelope.tenant, user_ids=[event.user_id])
    if _waiting_for(session, envelope, event.user_id) is not None:
        return False
    return _seat_effect(session, envelope.tenant, event.user_id, lock=False) != domain.SeatEffect.RELEASE


def seat_reserved(session: Session, envelope: Envelope, event: SeatReserved) -> list[Outgoing]:
    change = _waiting_for(session, envelope, event.user_id)
    if change is None:
        return _given_back_unless_owed(session, envelope, event.user_id)
    pending.remove_pending(session, change=change)
    user, events = _finish(session, envelope, change)
    faults.check("users.seat_granted")
    return [*events, *_answer(change, envelope, UserReply(user=user))]


def _given_back_unless_owed(session: Session, envelope: Envelope, user_id: str) -> list[Outgoing]:
    """A seat no change waits for, held for a user who is not active and has no change pending, is given
    back, as a repair would: a saga asked again after a lost decision can be granted its second
    reservation after its first was refused, and a repair's can arrive after a deactivation."""
    if _seat_effect(session, envelope.tenant, user_id, lock=True) == domain.SeatEffect.RELEASE:
        return [release_seat(envelope, user_id)]
    return []


def _seat_effect(session: Session, tenant: str, user_id: str, *, lock: bool) -> domain.SeatEffect:
    """What the user is owed as they are now (``domain.seat_owed``); ``lock``: in a write transaction."""
    user = (store.lock_user if lock else store.get_user)(session, tenant=tenant, user_id=user_id)
    waiting = pending.get_pending(session, tenant=tenant, user_id=user_id) is not None
    return domain.seat_owed(user, saga_pending=waiting)


def abandon(change: PendingChange, *, cause: Envelope | None) -> list[Outgoing]:
    """Undo a saga that cannot finish (the caller removed ``change``): release the seat it may have been
    granted, and answer the requester 500. The ReleaseSeat follows the saga's ReserveSeat on the
    tenant's key, so a reservation still on its way is released after it is taken."""
    log.error("undoing the %s of %s: it could not finish (waiting since %s)", change.kind, change.user_id,
              change.created_at)  # fmt: skip
    detail = domain.could_not_finish(creating=change.kind == PendingKind.CREATE)
    refusal = CommandRejected(reason=RejectionReason.INTERNAL_ERROR, detail=detail)
    release = in_saga(
        ReleaseSeat(user_id=change.user_id),
        tenant=change.tenant,
        correlation_id=change.correlation_id,
        cause=cause,
    )
    return [release, *_answer(change, cause, refusal)]


def seat_reserved_undone(session: Session, envelope: Envelope, event: SeatReserved) -> list[Outgoing]:
    """The compensation of a ``SeatReserved`` that failed every delivery (servicekit.handling)."""
    change = _waiting_for(session, envelope, event.user_id)
    if change is None:
        return []
    pending.remove_pending(session, change=change)
    return abandon(change, cause=envelope)


def seat_denied(session: Session, envelope: Envelope, event: SeatDenied) -> list[Outgoing]:
    """A refusal counts this service's allowance as in use: what is left of it is spent here first."""
    change = _waiting_for(session, envelope, event.user_id)
    if change is None:
        return []
    pending.remove_pending(session, change=change)  # not created, or stays inactive
    if allowance.spend(session, tenant=envelope.tenant):
        return _finish_on_allowance(session, envelope, change)
    refusal = domain.no_seat_free(used=event.used, limit=event.limit)
    return _answer(change, envelope, CommandRejected(reason=refusal.reason, detail=refusal.detail))


def allowance_granted(session: Session, envelope: Envelope, event: SeatAllowanceGranted) -> list[Outgoing]:
    allowance.add(session, tenant=envelope.tenant, amount=event.amount, granted_in=event.round)
    return []


def allowance_recalled(session: Session, envelope: Envelope, event: SeatAllowanceRecalled) -> list[Outgoing]:
    """Give back what is left; on the seats commands' tenant key, after every ``TakeAllowedSeat`` sent
    before, so the seats service knows the seats in use exactly when it confirms the new limit."""
    returned = allowance.take_all(session, tenant=envelope.tenant, recall_round=event.round)
    if returned is None:
        return []
    answer = ReturnSeatAllowance(
        amount=returned.amount,
        recall_id=event.recall_id,
        round=event.round,
        received_total=returned.received_total,
        returned_total=returned.returned_total,
    )
    return [to_seats(envelope, answer)]


def reconcile_seat(session: Session, envelope: Envelope, command: ReconcileSeat) -> list[Outgoing]:
    """A reconciliation repair, in the user's order (their key): the seat follows the user as they are
    when the repair is handled, so a deactivation after the drift was read still wins."""
    effect = _seat_effect(session, envelope.tenant, command.user_id, lock=True)
    if effect == domain.SeatEffect.RESERVE:
        return [reserve_seat(envelope, command.user_id)]
    if effect == domain.SeatEffect.RELEASE:
        return [release_seat(envelope, command.user_id)]
    return []


ASK_AGAIN_AFTER = timedelta(seconds=60)
"""A seat decision normally comes within a second; one missing after a minute was lost on the way."""

GIVE_UP_AFTER = timedelta(minutes=15)
"""Asked again every 30 s for 14 minutes without an answer: the seats service cannot decide it (its
ReserveSeat keeps failing); the requester stopped waiting long ago, and the userName is held meanwhile."""


def ask_again_for_lost_decisions(session: Session, now: datetime) -> int:
    """Sagas whose ReserveSeat, or the seats service's answer, never arrived (dead-lettered, say)
    would wait forever, their userName refused with 503: ask the seats service again, until it
    answers or ``GIVE_UP_AFTER``, when the saga is undone. Reservations are idempotent, and an answer
    for a saga already finished is ignored."""
    stale = pending.stale_changes(session, older_than=now - ASK_AGAIN_AFTER)
    for change in stale:
        if as_utc(change.created_at) < now - GIVE_UP_AFTER:
            pending.remove_pending(session, change=change)
            outgoing = abandon(change, cause=None)
        else:
            log.warning(
                "asking again for a seat for %s (waiting since %s)", change.user_id, change.created_at
            )
            again = ReserveSeat(user_id=change.user_id)
            outgoing = [in_saga(again, tenant=change.tenant, correlation_id=change.correlation_id)]
        enqueue_envelopes(session, [(o.topic, o.key, o.envelope) for o in outgoing])
    return len(stale)


SEAT_EVENT_HANDLERS: HandlerMap = {
    SeatReserved: seat_reserved,
    SeatDenied: seat_denied,
    SeatAllowanceGranted: allowance_granted,
    SeatAllowanceRecalled: allowance_recalled,
}
SAGA_COMPENSATIONS: HandlerMap = {SeatReserved: seat_reserved_undone}
NEEDLESS: Mapping[type[Message], NeedlessCheck] = {SeatReserved: nothing_waits}
