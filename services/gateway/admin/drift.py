"""Seat drift: seats held compared with the users service's active users (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel


class SeatDrift(BaseModel):
    seats_without_active_user: list[str]
    active_users_without_seat: list[str]
    # Creates and reactivations still waiting for the seats service (after a crash they finish, or
    # roll back, once both services run again): not drift, but the numbers settle only when empty.
    waiting_for_seat: list[str] = []
    # The allowance (docs/architecture.md §4) as each side counts it: the seats service's set_aside
    # and the users service's unspent seats. They differ for a moment after each allowed create (its
    # TakeAllowedSeat on the way), and for good after a grant that never arrived.
    set_aside: int = 0
    allowance_unspent: int = 0

    @property
    def allowance_in_step(self) -> bool:
        return self.set_aside == self.allowance_unspent

    @property
    def clean(self) -> bool:
        return (
            not (self.seats_without_active_user or self.active_users_without_seat) and self.allowance_in_step
        )


def seat_drift(
    *,
    seat_holders: Iterable[str],
    active_users: Iterable[str],
    in_flight: Iterable[str] = (),
    set_aside: int = 0,
    allowance_unspent: int = 0,
) -> SeatDrift:
    """Users whose create or reactivation still waits for the seats service are no drift: their
    seat may already be held, and releasing it would let the saga finish without one."""
    holders, active, waiting = set(seat_holders), set(active_users), set(in_flight)
    return SeatDrift(
        seats_without_active_user=sorted(holders - active - waiting),
        active_users_without_seat=sorted(active - holders),
        waiting_for_seat=sorted(waiting),
        set_aside=set_aside,
        allowance_unspent=allowance_unspent,
    )
