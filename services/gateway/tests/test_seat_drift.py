"""Seat drift (pure): what reconcile reports from seat holders, active users and waiting sagas."""

from __future__ import annotations

from services.gateway.admin.drift import seat_drift


def test_every_active_user_holding_one_seat_is_clean() -> None:
    drift = seat_drift(seat_holders=["a", "b"], active_users=["b", "a"])
    assert drift.clean and drift.waiting_for_seat == []


def test_a_stray_seat_and_a_seatless_active_user_are_both_reported() -> None:
    drift = seat_drift(seat_holders=["a", "gone"], active_users=["a", "new"])
    assert (drift.seats_without_active_user, drift.active_users_without_seat) == (["gone"], ["new"])
    assert not drift.clean


def test_a_seat_held_for_a_saga_still_waiting_is_no_drift_but_is_reported_as_waiting() -> None:
    drift = seat_drift(seat_holders=["a", "pending"], active_users=["a"], in_flight=["pending", "later"])
    assert drift.clean
    assert drift.waiting_for_seat == ["later", "pending"]
