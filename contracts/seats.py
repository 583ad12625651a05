"""Messages owned by the seats service: per-tenant seat limits and the seats held.

An active user holds one seat; an inactive or deleted user holds none. Seat commands and events are
keyed by tenant, so one tenant's seats are decided, and heard of, one after another.

The seats service may grant the users service an *allowance*: seats set aside for it, which it hands
to users becoming active without asking (``TakeAllowedSeat`` tells the seats service afterwards).
docs/architecture.md §4 gives the argument why a tenant still never holds more seats than its limit.
"""

from __future__ import annotations

from pydantic import Field

from contracts.envelope import Message
from contracts.listing import KeysetPage

# Commands


class ReserveSeat(Message):
    """Give ``user_id`` a seat if one is free. Reserving a seat the user already holds succeeds."""

    user_id: str


class ReleaseSeat(Message):
    user_id: str


class TakeAllowedSeat(Message):
    """``user_id`` became active on a seat of the users service's allowance: the seat is now theirs."""

    user_id: str


class ReturnSeatAllowance(Message):
    """The users service's answer to ``SeatAllowanceRecalled``: what it had left, now given back, and
    its running totals, from which the seats service also frees the seats of grants that never
    arrived (docs/architecture.md §4)."""

    amount: int = Field(ge=0)
    recall_id: str
    round: int = Field(default=0, ge=0, description="The answered recall's round.")
    received_total: int | None = Field(
        default=None,
        ge=0,
        description="Seats of every grant the users service accepted, ever (None: a users service"
        " that does not count them, whose return only gives back ``amount``).",
    )
    returned_total: int | None = Field(
        default=None, ge=0, description="Seats it gave back, ever, this return's ``amount`` included."
    )


class SetSeatLimit(Message):
    limit: int = Field(ge=0)


class RecallSeatAllowance(Message):
    """Bring the users service's allowance back and count it again (``roster-admin seats reconcile
    --repair``): seats of a grant that never reached it are free again. Nothing if none is set aside."""


# Queries


class GetSeatUsage(Message):
    pass


class ListSeatHolders(KeysetPage, Message):
    """The users holding a seat, a page at a time in user id order."""


# Replies


class SeatUsage(Message):
    limit: int
    used: int = Field(description="Seats held by users.")
    set_aside: int = Field(
        default=0,
        description="Seats of the limit set aside for the users service to activate users at once (the seat"
        " allowance), not held by a user yet; a seat is free for a new user while"
        " used + set_aside < limit.",
    )


class SeatHolders(Message):
    user_ids: tuple[str, ...] = Field(
        description="In id order; fewer than the page's limit on the last page."
    )


# Events


class SeatReserved(Message):
    user_id: str
    used: int
    limit: int
    from_allowance: bool = Field(
        default=False,
        description="The users service spent a seat of its allowance (TakeAllowedSeat): the user was"
        " already answered, and no change waits for this event.",
    )


class SeatDenied(Message):
    user_id: str
    used: int
    limit: int


class SeatReleased(Message):
    user_id: str
    used: int
    limit: int


class SeatLimitReached(Message):
    """The last free seat was just taken (the account team wants to know)."""

    used: int
    limit: int


class SeatLimitChanged(Message):
    used: int
    limit: int


class SeatAllowanceGranted(Message):
    """``amount`` more seats set aside for the users service to hand out on its own."""

    amount: int = Field(ge=1)
    round: int = Field(
        default=0,
        ge=0,
        description="The recall round it was granted in: the users service ignores a grant from before"
        " a recall it answered, whose seats that answer freed.",
    )


class SeatAllowanceRecalled(Message):
    """A lower limit may not fit the allowance, or a repair counts it again: the users service gives
    back what it has left."""

    recall_id: str
    round: int = Field(
        default=0, ge=0, description="Recalls of the tenant's allowance so far, this one included."
    )
