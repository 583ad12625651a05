"""Closing what talks to Kafka within a bound, so a process stops whether or not Kafka answers.

With the brokers gone, aiokafka waits for them without end: a consumer's last offset commit looks
for its group coordinator again and again, and stopping a consumer waits for it to leave its group.
Every service then hung at "stopping" until something killed it, and the gateway's shutdown failed
half-way, skipping the steps after the one that hung. Here each step gets what is left of one bound;
one that does not finish in time, or fails, is logged and the next one runs, and the caller then
releases its database. Nothing is lost by it: a record whose offset was not committed is delivered
again and the inbox skips it; an outbox row not marked published is published again
(docs/architecture.md §3).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

KAFKA_CLOSE_SECONDS = 5.0
"""Far more than a consumer needs to commit and leave its group while Kafka answers (milliseconds),
and well inside an orchestrator's grace period after SIGTERM (Kubernetes' default: 30 s)."""

Step = tuple[str, Callable[[], Awaitable[object]]]


async def close_in_turn(steps: Sequence[Step], *, seconds: float = KAFKA_CLOSE_SECONDS) -> None:
    """Each ``(what, close)`` in order, all of them within ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    for what, close in steps:
        try:
            async with asyncio.timeout_at(deadline):
                await close()
        except TimeoutError:
            log.warning("%s not closed within %g s of the stop: is Kafka unreachable?", what, seconds)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this stop itself was cancelled
            log.warning("%s: closing was cancelled inside its client", what)
        except Exception as error:
            log.warning("%s not closed: %r", what, error)
