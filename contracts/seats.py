"""Messages owned by the seats service: per-tenant seat limits and the seats held.

An active user holds one seat; an inactive or deleted user holds none. Seat commands are keyed by
tenant, so one tenant's reservations are handled one after another.
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


class SetSeatLimit(Message):
    limit: int = Field(ge=0)


# Queries


class GetSeatUsage(Message):
    pass


class ListSeatHolders(KeysetPage, Message):
    """The users holding a seat, a page at a time in user id order."""


# Replies


class SeatUsage(Message):
    limit: int
    used: int


class SeatHolders(Message):
    user_ids: tuple[str, ...] = Field(
        description="In id order; fewer than the page's limit on the last page."
    )


# Events


class SeatReserved(Message):
    user_id: str
    used: int
    limit: int


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
