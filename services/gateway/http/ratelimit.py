"""Per-tenant request rate limit: a token bucket per tenant, one for every gateway instance.

Beyond the rate the tenant gets 429 with ``Retry-After``; Okta retries those on its own, whereas
other failures become manual "Retry" tasks for the admin (docs/scim-clients.md, "Every request").
With a ``lease`` (``services/gateway/rate_leases.py``) the bucket lives in the gateway database and
this instance spends slices leased from it; without one, the bucket is this instance's own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.gateway.rate_leases import Grant

LEASES_PER_SECOND = 20
"""At the full rate an instance leases about this many slices a second: one database transaction
per slice, not per request."""
LEASE_SECONDS = 1.0
"""Leased tokens not spent within this are dropped, so no instance can save up beyond the burst."""

Lease = Callable[[str, int], Grant]


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TenantRateLimiter:
    def __init__(
        self,
        *,
        per_second: float,
        burst: int,
        lease: Lease | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = per_second
        self._burst = burst
        self._lease = lease
        self._slice = max(1, min(burst, math.ceil(per_second / LEASES_PER_SECOND)))
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}  # own tokens; with a lease, those leased (updated: when)
        self._lock = threading.Lock()  # leases are taken in worker threads

    def retry_after(self, tenant: str) -> int | None:
        """Take one token; ``None`` if the request may proceed, else whole seconds to wait."""
        with self._lock:
            if self._lease is None:
                return self._from_own_bucket(tenant)
            return self._from_lease(tenant, self._lease)

    def take_held(self, tenant: str) -> bool:
        """Take a token without waiting for anything — the database, or this limiter's lock while another
        request leases — so it may run on the event loop. False: ``retry_after`` decides."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._lease is None:
                return self._from_own_bucket(tenant) is None  # a refusal took nothing: asked again, the same
            return self._spend_held(tenant, self._clock())
        finally:
            self._lock.release()

    def _from_own_bucket(self, tenant: str) -> int | None:
        now = self._clock()
        bucket = self._buckets.setdefault(tenant, _Bucket(tokens=self._burst, updated=now))
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self._rate))

    def _from_lease(self, tenant: str, lease: Lease) -> int | None:
        now = self._clock()
        if self._spend_held(tenant, now):
            return None
        grant = lease(tenant, self._slice)
        if grant.tokens >= 1:
            self._buckets[tenant] = _Bucket(tokens=grant.tokens - 1, updated=now)
            return None
        self._buckets.pop(tenant, None)
        return max(1, math.ceil(grant.retry_after_s))

    def _spend_held(self, tenant: str, now: float) -> bool:
        held = self._buckets.get(tenant)
        if held is not None and held.tokens >= 1 and now - held.updated < LEASE_SECONDS:
            held.tokens -= 1
            return True
        return False
