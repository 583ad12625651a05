"""What the log says about a loop that retries the same step every second while something it needs is
away (Kafka, mostly): the first failure with its traceback, then one line a minute, then the
recovery. A traceback a second per process buried everything else in the log during an outage; the
backlog each loop leaves is in its metrics, which is what alerts read."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

STILL_FAILING_EVERY_SECONDS = 60.0


class RepeatedFailures:
    """``what`` names the step in the log lines (``"outbox relay"``)."""

    def __init__(self, what: str, log: logging.Logger, clock: Callable[[], float] = time.monotonic) -> None:
        self._what = what
        self._log = log
        self._clock = clock
        self._since: float | None = None
        self._tries = 0
        self._told_at = 0.0

    def failed(self) -> None:
        """Called from the ``except`` block: the first failure logs the exception being handled."""
        now, self._tries = self._clock(), self._tries + 1
        if self._since is None:
            self._since = self._told_at = now
            self._log.exception("%s failed; retrying every second", self._what)
        elif now - self._told_at >= STILL_FAILING_EVERY_SECONDS:
            self._told_at = now
            self._log.warning(
                "%s still failing after %d tries in %.0f s; retrying",
                self._what,
                self._tries,
                now - self._since,
                exc_info=True,
            )

    def succeeded(self) -> None:
        if self._since is not None:
            self._log.warning(
                "%s working again after %d failed tries in %.0f s",
                self._what,
                self._tries,
                self._clock() - self._since,
            )
            self._since, self._tries = None, 0
