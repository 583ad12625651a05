"""Seat drift (pure): what reconcile reports from seat holders, active users and waiting sagas; and
the repair it asks of the users service."""

from __future__ import annotations

from contracts.seats import RecallSeatAllowance
from contracts.users import ReconcileSeat
from services.gateway.admin.drift import seat_drift
from services.gateway.admin.seats import REPAIRS_AT_ONCE, _repair
from services.gateway.owners import Owners
from services.gateway.tests.wire import Wire


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


async def test_a_repair_asks_the_users_service_about_every_drifted_user_in_bounded_batches() -> None:
    wire = Wire()
    stray, seatless = [f"s{i}" for i in range(REPAIRS_AT_ONCE)], ["a1", "a2"]
    drift = seat_drift(seat_holders=stray, active_users=seatless)
    await _repair(Owners.over(wire), "acme", drift)
    sent = [published.message for published in wire.published]
    assert all(isinstance(message, ReconcileSeat) for message in sent)
    assert sorted(message.user_id for message in sent if isinstance(message, ReconcileSeat)) == sorted(
        stray + seatless
    )
    assert {published.key for published in wire.published} == {f"acme:{m}".encode() for m in stray + seatless}


def test_an_allowance_out_of_step_is_drift_and_its_repair_is_a_recall() -> None:
    drift = seat_drift(seat_holders=["a"], active_users=["a"], set_aside=9, allowance_unspent=4)
    assert not drift.clean and not drift.allowance_in_step


async def test_a_repair_recalls_the_allowance_only_when_it_is_out_of_step() -> None:
    for set_aside, unspent, recalled in ((9, 4, True), (4, 4, False)):
        wire = Wire()
        drift = seat_drift(
            seat_holders=[], active_users=["a"], set_aside=set_aside, allowance_unspent=unspent
        )
        await _repair(Owners.over(wire), "acme", drift)
        sent = [type(published.message) for published in wire.published]
        assert (RecallSeatAllowance in sent) is recalled and ReconcileSeat in sent
