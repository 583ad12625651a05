"""Seat drift: seats held compared with the users service's active users (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel


class SeatDrift(BaseModel):
    seats_without_active_user: list[str]
    active_users_without_seat: list[str]

    @property
    def clean(self) -> bool:
        return not (self.seats_without_active_user or self.active_users_without_seat)


def seat_drift(*, seat_holders: Iterable[str], active_users: Iterable[str]) -> SeatDrift:
    holders, active = set(seat_holders), set(active_users)
    return SeatDrift(
        seats_without_active_user=sorted(holders - active),
        active_users_without_seat=sorted(active - holders),
    )
