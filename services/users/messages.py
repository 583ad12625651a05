"""What the users service sends: its events, and commands to the seats service."""

from __future__ import annotations

from uuid import UUID

from contracts.envelope import Envelope, Message, wrap, wrap_descendant
from contracts.seats import ReleaseSeat, ReserveSeat, TakeAllowedSeat
from contracts.topics import SEATS_COMMANDS, USERS_EVENTS, resource_key, tenant_key
from servicekit.records import Outgoing

PRODUCER = "users"


def user_event(cause: Envelope, user_id: str, message: Message) -> Outgoing:
    envelope = wrap_descendant(message, cause=cause, producer=PRODUCER)
    return Outgoing(topic=USERS_EVENTS, key=resource_key(cause.tenant, user_id), envelope=envelope)


def to_seats(cause: Envelope, message: Message) -> Outgoing:
    """Every seat command of a tenant on one key: the seats service handles them in the order sent."""
    envelope = wrap_descendant(message, cause=cause, producer=PRODUCER)
    return Outgoing(topic=SEATS_COMMANDS, key=tenant_key(cause.tenant), envelope=envelope)


def reserve_seat(cause: Envelope, user_id: str) -> Outgoing:
    return to_seats(cause, ReserveSeat(user_id=user_id))


def release_seat(cause: Envelope, user_id: str) -> Outgoing:
    return to_seats(cause, ReleaseSeat(user_id=user_id))


def take_allowed_seat(cause: Envelope, user_id: str) -> Outgoing:
    return to_seats(cause, TakeAllowedSeat(user_id=user_id))


def in_saga(
    message: ReserveSeat | ReleaseSeat, *, tenant: str, correlation_id: str, cause: Envelope | None = None
) -> Outgoing:
    """A seat command of a saga sent from outside its steps (asked again, or undone), in the saga's
    conversation (its correlation id)."""
    envelope = wrap(
        message,
        tenant=tenant,
        producer=PRODUCER,
        correlation_id=UUID(correlation_id),
        causation_id=cause.message_id if cause is not None else None,
    )
    return Outgoing(topic=SEATS_COMMANDS, key=tenant_key(tenant), envelope=envelope)
