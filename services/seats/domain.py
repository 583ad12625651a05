"""Pure seat rules: an active user holds one seat, never two, and never beyond the limit."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.envelope import Message
from contracts.seats import SeatDenied, SeatLimitChanged, SeatLimitReached, SeatReleased, SeatReserved

# A tenant whose limit was never set (created before seats existed) gets this many.
DEFAULT_SEAT_LIMIT = 100


@dataclass(frozen=True)
class SeatState:
    """What a seat decision rests on, read with the tenant locked."""

    user_id: str
    holds: bool
    used: int
    limit: int


def reserve(state: SeatState) -> tuple[bool, list[Message]]:
    """Whether to record a new seat for the user, and what to announce.

    Asking again for a seat already held is answered ``SeatReserved`` without taking a second one,
    so a redelivered or retried reservation can never count twice.
    """
    user_id, used, limit = state.user_id, state.used, state.limit
    if state.holds:
        return False, [SeatReserved(user_id=user_id, used=used, limit=limit)]
    if used >= limit:
        return False, [SeatDenied(user_id=user_id, used=used, limit=limit)]
    events: list[Message] = [SeatReserved(user_id=user_id, used=used + 1, limit=limit)]
    if used + 1 == limit:
        events.append(SeatLimitReached(used=used + 1, limit=limit))
    return True, events


def release(state: SeatState) -> tuple[bool, list[Message]]:
    """Releasing a seat the user does not hold changes nothing and announces nothing."""
    if not state.holds:
        return False, []
    return True, [SeatReleased(user_id=state.user_id, used=state.used - 1, limit=state.limit)]


def change_limit(*, used: int, limit: int) -> list[Message]:
    """A lower limit deprovisions nobody: new activations are refused until usage is below it."""
    events: list[Message] = [SeatLimitChanged(used=used, limit=limit)]
    if used == limit:
        events.append(SeatLimitReached(used=used, limit=limit))
    return events
