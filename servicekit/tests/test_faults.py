"""Fault injection (servicekit/faults.py): off unless ROSTER_FAULTS is set; a bad value is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from servicekit import faults


@pytest.fixture(autouse=True)
def disarmed(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv(faults.VARIABLE, raising=False)
    faults.rearm()
    yield monkeypatch
    monkeypatch.delenv(faults.VARIABLE, raising=False)
    faults.rearm()


def test_nothing_is_armed_unless_set() -> None:
    faults.check("users.seat_granted")
    assert faults.delay_seconds("gateway.reconcile_repair") == 0.0


def test_points_fail_or_pause_as_armed(disarmed: pytest.MonkeyPatch) -> None:
    disarmed.setenv(faults.VARIABLE, "users.seat_granted=fail, gateway.reconcile_repair=delay:2.5")
    faults.rearm()
    with pytest.raises(faults.InjectedFault, match=r"users\.seat_granted"):
        faults.check("users.seat_granted")
    faults.check("users.park")
    assert faults.delay_seconds("gateway.reconcile_repair") == 2.5


def test_a_file_is_read_again_at_every_check(disarmed: pytest.MonkeyPatch, tmp_path: Path) -> None:
    armed = tmp_path / "faults"
    disarmed.setenv(faults.VARIABLE, f"@{armed}")
    faults.rearm()
    faults.check("seats.reserve")  # no file yet: nothing armed
    armed.write_text("seats.reserve=fail")
    with pytest.raises(faults.InjectedFault):
        faults.check("seats.reserve")
    armed.write_text("")
    faults.check("seats.reserve")


@pytest.mark.parametrize("value", ["users.park", "users.park=maybe", "users.park=delay:soon"])
def test_a_value_that_is_not_a_fault_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="ROSTER_FAULTS"):
        faults.parse(value)
