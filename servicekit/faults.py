"""Fault injection for tests: named points in the code that fail or pause on demand.

Off unless ``ROSTER_FAULTS`` is set, and nothing sets it but a test (docs/operations.md "Fault
injection"): a comma-separated list of ``<point>=fail`` or ``<point>=delay:<seconds>``, e.g.
``ROSTER_FAULTS=users.seat_granted=fail``, or ``@<file>`` holding such a list, read again at every
check so a test arms and disarms faults while the processes run. Unset, a check costs one lookup.

Points: ``users.park`` (a create or reactivation parked for its seat), ``seats.reserve`` (the seats
service taking a seat), ``users.seat_granted`` (the users service finishing the change once its seat
is granted), ``gateway.reconcile_repair`` (between reading the seat drift and sending its repairs).
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

VARIABLE = "ROSTER_FAULTS"


class InjectedFault(RuntimeError):
    """The failure a test asked for at a fault point."""


@dataclass(frozen=True)
class Fault:
    fail: bool = False
    delay_seconds: float = 0.0


def parse(text: str) -> dict[str, Fault]:
    """``a=fail,b=delay:2.5`` → the fault of each point; anything else is refused, never ignored."""
    faults: dict[str, Fault] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        point, _, action = item.partition("=")
        seconds = action.removeprefix("delay:")
        if action == "fail":
            faults[point] = Fault(fail=True)
        elif action.startswith("delay:") and seconds.replace(".", "", 1).isdigit():
            faults[point] = Fault(delay_seconds=float(seconds))
        else:
            raise ValueError(f"{VARIABLE}: {item!r} is not <point>=fail or <point>=delay:<seconds>")
    return faults


@functools.cache
def _source() -> str:
    return os.environ.get(VARIABLE, "")


def _armed() -> dict[str, Fault]:
    source = _source()
    if not source.startswith("@"):
        return _parsed(source)
    try:
        return parse(Path(source[1:]).read_text())
    except FileNotFoundError:
        return {}


@functools.cache
def _parsed(text: str) -> dict[str, Fault]:
    return parse(text)


def check(point: str) -> None:
    """Raise ``InjectedFault`` when a test armed ``point`` to fail; pause when it armed a delay."""
    fault = _armed().get(point)
    if fault is not None and fault.fail:
        raise InjectedFault(f"fault injected at {point}")
    if fault is not None and fault.delay_seconds:
        time.sleep(fault.delay_seconds)


def delay_seconds(point: str) -> float:
    """How long a test asked ``point`` to pause (0 when not armed)."""
    fault = _armed().get(point)
    return fault.delay_seconds if fault is not None else 0.0


def rearm() -> None:
    """Read ``ROSTER_FAULTS`` again (a test that changes it within its own process)."""
    _source.cache_clear()
