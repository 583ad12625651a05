"""Whether this gateway reaches Kafka, known before a request waits on it.

While no broker answers, a publish (and the reply it waits for) can only end at the request
timeout: every SCIM request would hang for the full ``GATEWAY_REQUEST_TIMEOUT_SECONDS`` before
its 503, and Okta's provisioning workers with it. A probe in the background asks the cluster for
its metadata every ``GATEWAY_KAFKA_PROBE_INTERVAL_SECONDS``; while the cluster is gone, requests
are answered 503 + ``Retry-After`` at once, and the next probe that succeeds (or reply that arrives)
lets them through again — nothing to restart (docs/operations.md, "Troubleshoot").

One broker down of three is not an outage: any broker that answers makes the cluster reachable.
Neither is one slow probe on a saturated host: the cluster is declared gone only after
``failures_to_trip`` probes in a row went unanswered, and any reply that arrives proves it is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[bool]]  # true when a broker answered


class KafkaWatch:
    def __init__(
        self,
        probe: Probe,
        *,
        interval_seconds: float,
        timeout_seconds: float,
        failures_to_trip: int = 2,
        on_change: Callable[[bool], None] = lambda reachable: None,
    ) -> None:
        self._probe = probe
        self._interval = interval_seconds
        self._timeout = timeout_seconds
        self._on_change = on_change
        self._failures_to_trip = failures_to_trip
        self._failures = 0
        self._reachable = True  # the broker answered at start-up, or the gateway would not have started
        self._task: asyncio.Task[None] | None = None

    @property
    def reachable(self) -> bool:
        return self._reachable

    def saw_life(self) -> None:
        """Something came from Kafka (a reply): it is reachable, whatever the last probe said."""
        self._record(True)

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="kafka-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            started = time.monotonic()
            self._record(await self._answered())
            await asyncio.sleep(max(0.0, self._interval - (time.monotonic() - started)))

    async def _answered(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._probe()
        except TimeoutError:
            return False
        except Exception as error:  # an unexpected client error is an unreachable cluster, not a dead probe
            log.debug("Kafka probe failed: %r", error)
            return False

    def _record(self, answered: bool) -> None:
        self._failures = 0 if answered else self._failures + 1
        reachable = answered or (self._reachable and self._failures < self._failures_to_trip)
        if reachable == self._reachable:
            return
        self._reachable = reachable
        if reachable:
            log.warning("Kafka reachable again: requests are served")
        else:
            log.error("Kafka unreachable: requests answered 503 at once until it returns")
        self._on_change(reachable)
