"""A request's own CPU-heavy work (applying a large Group PATCH), off the event loop, one at a time,
and within the request's time.

Python threads share one interpreter lock. Several Group PATCHes of tens of thousands of operations
(up to ``GATEWAY_MAX_GROUP_BODY_BYTES``) parsed at once in the default thread pool, which also runs
the database lookups, left the event loop — every tenant's requests, the liveness probe — a sliver of
it: another tenant's one-operation PATCH took half a minute. Here they take turns on one thread, so the
loop keeps about half. A request whose turn does not come, or whose work does not end, within
``GATEWAY_REQUEST_TIMEOUT_SECONDS`` is answered 503 with ``Retry-After``, as a late owner is
(docs/scim-clients.md, "Timeouts"); work not begun by then never runs.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from services.gateway.http.correlator import ServiceUnavailable

T = TypeVar("T")


class Turns:
    def __init__(self, *, timeout_seconds: float) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request-work")
        self._timeout = timeout_seconds

    async def run(self, work: Callable[[], T]) -> T:
        """``work``'s result, or its exception; ``ServiceUnavailable`` once the timeout passed."""
        in_context = functools.partial(contextvars.copy_context().run, work)  # log fields, trace
        done = asyncio.get_running_loop().run_in_executor(self._executor, in_context)
        try:
            async with asyncio.timeout(self._timeout):
                return await done  # cancelled at the timeout: a turn not yet begun is never taken
        except TimeoutError:
            raise ServiceUnavailable(f"the request's own work took over {self._timeout:g}s") from None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
