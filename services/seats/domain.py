"""Pure seat rules: an active user holds one seat, never two, and never beyond the limit.

The users service may hold an *allowance*: seats set aside for it, which it hands to users becoming
active without a round trip here (docs/architecture.md §4). Seats held and the allowance together
never exceed the limit when a seat is taken or an allowance granted, so the seats in use — held, or
handed out and not yet reported — never do either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from contracts.envelope import Message
from contracts.seats import (
    SeatAllowanceGranted,
    SeatDenied,
    SeatLimitChanged,
    SeatLimitReached,
    SeatReleased,
    SeatReserved,
)

log = logging.getLogger(__name__)

# A tenant whose limit was never set (created before seats existed) gets this many.
DEFAULT_SEAT_LIMIT = 100

DEFAULT_ALLOWANCE_BLOCK = 50
"""Seats set aside for the users service with one reservation, at most (``SEATS_ALLOWANCE_BLOCK``):
one activation in ~50 asks this service during an import, the others do not wait for it."""


@dataclass(frozen=True)
class SeatState:
    """What a seat decision rests on, read with the tenant locked."""

    user_id: str
    holds: bool
    used: int  # seats held
    limit: int
    allowance: int = 0  # seats set aside for the users service, not yet reported as taken
    recalling: bool = False  # a lower limit waits for the allowance to come back
    round: int = 0  # recalls of the allowance so far: a grant names the round it belongs to


@dataclass(frozen=True)
class Reservation:
    take: bool  # record a new seat for the user
    grant: int  # seats to add to the users service's allowance
    events: list[Message]


def grant_size(*, used: int, allowance: int, limit: int, block: int) -> int:
    """How many seats to set aside with a reservation: up to ``block``, and at most half of those
    still free, so the last free seats are decided here one at a time and a refusal is exact."""
    return max(0, min(block, (limit - used - allowance) // 2))


def reserve(state: SeatState, *, block: int = 0) -> Reservation:
    """Whether to record a new seat for the user, how much allowance to grant, and what to announce.

    Asking again for a seat already held is answered ``SeatReserved`` without taking a second one,
    so a redelivered or retried reservation can never count twice. A refusal counts the allowance as
    in use: the users service spends what it has left before it refuses anyone (its ``SeatDenied``
    handler), so what it holds is either spent or about to be.
    """
    user_id, used, limit, allowance = state.user_id, state.used, state.limit, state.allowance
    if state.holds:
        return Reservation(False, 0, [SeatReserved(user_id=user_id, used=used, limit=limit)])
    if used + allowance >= limit:
        return Reservation(False, 0, [SeatDenied(user_id=user_id, used=used + allowance, limit=limit)])
    # Nothing more set aside while a recall is on its way: the limit it serves must see it all back.
    grant = 0 if state.recalling else grant_size(used=used + 1, allowance=allowance, limit=limit, block=block)
    # The grant first: the users service holds it before the reservation answers the waiting create,
    # so the identity provider's next create is paid from it instead of asking here again.
    events: list[Message] = [SeatAllowanceGranted(amount=grant, round=state.round)] if grant else []
    events.append(SeatReserved(user_id=user_id, used=used + 1, limit=limit))
    if used + 1 == limit:
        events.append(SeatLimitReached(used=used + 1, limit=limit))
    return Reservation(True, grant, events)


def take_allowed(state: SeatState) -> tuple[bool, list[Message]]:
    """A seat of the allowance given to the user: it leaves the allowance and becomes theirs. One the
    user holds already (a repair got there first) just leaves the allowance — it is free again."""
    if state.holds:
        return False, []
    used = state.used + 1
    taken = SeatReserved(user_id=state.user_id, used=used, limit=state.limit, from_allowance=True)
    events: list[Message] = [taken]
    if used == state.limit:
        events.append(SeatLimitReached(used=used, limit=state.limit))
    return True, events


def allowance_after_take(*, allowance: int) -> int:
    """What is still set aside after the users service spent one seat of it. None outstanding is a
    fault worth a log line (the seat is the user's all the same), never a negative count."""
    if allowance <= 0:
        log.error("an allowed seat was taken, but no allowance was outstanding")
    return max(0, allowance - 1)


def allowance_after_return(*, allowance: int, returned: int) -> int:
    """What is still set aside after a users service that keeps no totals gave ``returned`` back.
    Answering a recall, it has reported every seat it spent before (same partition, in order) and
    was granted nothing since, so nothing should be left; anything else is a fault worth a log line,
    never a negative count. What is left stays set aside: under-granted, never over."""
    left = allowance - returned
    if left != 0:
        log.error("seat allowance out of step after a return: %d left (expected 0)", left)
    return max(0, left)


@dataclass(frozen=True)
class AllowanceBook:
    """What the users service's last counted return said, to count the next one against."""

    answered_round: int = 0  # the round of the last return counted
    granted: int = 0  # seats granted since then, plus what the users service had received by then
    returned: int = 0  # seats it had given back by then, ever


@dataclass(frozen=True)
class CountedReturn:
    allowance: int
    book: AllowanceBook
    never_arrived: int  # seats of grants that never reached the users service, free again


def count_return(
    *, allowance: int, book: AllowanceBook, round: int, received_total: int, returned_total: int
) -> CountedReturn | None:
    """What is still set aside after the users service answered recall ``round`` with its totals;
    None for an answer older than one counted already (its totals are in the later one's).

    No grant goes out while a recall waits, and the users service hears every grant before the recall
    (one partition), so by its answer it has received every grant it ever will: one granted and not
    received was set aside on the way, and the users service will ignore it if it is ever replayed
    (its round is older). Its seats are free again. What stays set aside is exactly the seats spent
    and not yet reported (``TakeAllowedSeat`` still on its way)."""
    if round <= book.answered_round:
        return None
    given_back = returned_total - book.returned
    # Below 0 only for grants in flight when the totals began (the upgrade that added them).
    never_arrived = max(0, book.granted - received_total)
    left = allowance - given_back - never_arrived
    if left < 0:
        log.error("seat allowance out of step after a return: %d left (expected at least 0)", left)
    return CountedReturn(max(0, left), AllowanceBook(round, received_total, returned_total), never_arrived)


def must_recount(*, allowance: int, recalling: bool) -> bool:
    """A repair recalls the allowance only when there is something to count again: seats set aside,
    or a recall whose event or answer never came (nothing is granted while one waits)."""
    return allowance > 0 or recalling


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


def must_recall(*, used: int, allowance: int, limit: int) -> bool:
    """A limit the seats held and the allowance no longer fit in: the allowance must come back before
    the change is confirmed, or a user could become active on a seat the new limit does not have."""
    return allowance > 0 and used + allowance > limit
