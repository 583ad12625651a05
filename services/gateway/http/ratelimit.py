"""Per-tenant request rate limit: a token bucket per tenant, per gateway instance.

Beyond the rate the tenant gets 429 with ``Retry-After``; Okta retries those on its own, whereas
other failures become manual "Retry" tasks for the admin (docs/scim-clients.md, "Every request").
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TenantRateLimiter:
    def __init__(self, *, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_second
        self._burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()  # auth dependencies run in FastAPI's thread pool

    def retry_after(self, tenant: str) -> int | None:
        """Take one token; ``None`` if the request may proceed, else whole seconds to wait."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.setdefault(tenant, _Bucket(tokens=self._burst, updated=now))
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return max(1, math.ceil((1 - bucket.tokens) / self._rate))
