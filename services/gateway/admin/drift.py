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

    @property
    def clean(self) -> bool:
        return not (self.seats_without_active_user or self.active_users_without_seat)


def seat_drift(
    *, seat_holders: Iterable[str], active_users: Iterable[str], in_flight: Iterable[str] = ()
) -> SeatDrift:
    """Users whose create or reactivation still waits for the seats service are no drift: their
    seat may already be held, and releasing it would let the saga finish without one."""
    holders, active, waiting = set(seat_holders), set(active_users), set(in_flight)
    return SeatDrift(
        seats_without_active_user=sorted(holders - active - waiting),
        active_users_without_seat=sorted(active - holders),
        waiting_for_seat=sorted(waiting),
    )
