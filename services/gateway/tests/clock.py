"""A monotonic clock the test moves by hand, for what the gateway times (rate budgets, known tokens)."""

from __future__ import annotations


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
