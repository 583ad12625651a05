"""The seat saga (docs/architecture.md §4): a create or a reactivation waits for the seats service.

``begin`` parks the change and asks for a seat; the seats service's ``SeatReserved`` finishes it
(event + the reply the requester waits for), its ``SeatDenied`` rolls it back (403). Every step is
one transaction with its inbox entry and outbox messages, so a crash anywhere resumes, never
half-creates.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlmodel import Session

from contracts.envelope import Envelope, Message
from contracts.replies import CommandRejected
from contracts.seats import SeatDenied, SeatReserved
from contracts.users import UserCreated, UserRecord, UserReply
from servicekit.handling import HandlerMap, Outgoing, deferred_reply
from servicekit.messaging import enqueue_envelope
from services.users import domain, managers, pending, store
from services.users.messages import PRODUCER, reserve_seat, reserve_seat_again, user_event
from services.users.pending import PendingChange, PendingKind

log = logging.getLogger(__name__)


def begin(
    session: Session, envelope: Envelope, *, kind: PendingKind, user: UserRecord, expected_version: int | None
) -> list[Outgoing]:
    pending.add_pending(
        session,
        tenant=envelope.tenant,
        kind=kind,
        user=user,
        expected_version=expected_version,
        reply_to=envelope.reply_to,
        correlation_id=str(envelope.correlation_id),
    )
    return [reserve_seat(envelope, user.id)]


def _answer(change: PendingChange, cause: Envelope, message: Message) -> list[Outgoing]:
    return deferred_reply(
        reply_topic=change.reply_to,
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


def seat_reserved(session: Session, envelope: Envelope, event: SeatReserved) -> list[Outgoing]:
    change = pending.get_pending(session, tenant=envelope.tenant, user_id=event.user_id)
    if change is None:
        return []  # nothing waits for this seat (a redelivery, or a reconciliation repair)
    pending.remove_pending(session, change=change)
    user, events = _finish(session, envelope, change)
    return [*events, *_answer(change, envelope, UserReply(user=user))]


def seat_denied(session: Session, envelope: Envelope, event: SeatDenied) -> list[Outgoing]:
    change = pending.get_pending(session, tenant=envelope.tenant, user_id=event.user_id)
    if change is None:
        return []
    pending.remove_pending(session, change=change)  # not created, or stays inactive
    refusal = domain.no_seat_free(used=event.used, limit=event.limit)
    return _answer(change, envelope, CommandRejected(reason=refusal.reason, detail=refusal.detail))


ASK_AGAIN_AFTER = timedelta(seconds=60)
"""A seat decision normally comes within a second; one missing after a minute was lost on the way."""


def ask_again_for_lost_decisions(session: Session, now: datetime) -> int:
    """Sagas whose ReserveSeat, or the seats service's answer, never arrived (dead-lettered, say)
    would wait forever, their userName refused with 503: ask the seats service again, until it
    answers. Reservations are idempotent, and an answer for a saga already finished is ignored."""
    stale = pending.stale_changes(session, older_than=now - ASK_AGAIN_AFTER)
    for change in stale:
        log.warning("asking again for a seat for %s (waiting since %s)", change.user_id, change.created_at)
        again = reserve_seat_again(
            tenant=change.tenant, user_id=change.user_id, correlation_id=change.correlation_id
        )
        enqueue_envelope(session, topic=again.topic, key=again.key, envelope=again.envelope)
    return len(stale)


SEAT_EVENT_HANDLERS: HandlerMap = {SeatReserved: seat_reserved, SeatDenied: seat_denied}
