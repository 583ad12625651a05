"""SCIM tokens this gateway instance found valid a moment ago, so a tenant's stream of requests is not
one database look-up each (a worker-thread hop and a read transaction: BENCHMARKS.md, "Token look-ups").

Only a token found valid is remembered, by its SHA-256 (never the token itself), for ``ttl_seconds``.
A token issued anywhere works at once (an unknown token is always looked up); a revocation made through
this instance (admin API, console, ``roster-admin``) forgets the tenant's tokens at once, and one made
through another instance sharing the database takes effect here within ``ttl_seconds``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_REMEMBERED = 10_000
"""Far more tokens than one installation has in force; beyond it everything is forgotten, not evicted
one by one (a bound on memory, not a policy)."""


@dataclass(frozen=True)
class _Known:
    tenant: str
    until: float


class KnownTokens:
    def __init__(self, *, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._known: dict[str, _Known] = {}
        self._forgotten = 0  # how many times tokens were forgotten: a look-up older than that is stale
        self._lock = threading.Lock()  # the admin routes that forget run in worker threads

    @property
    def generation(self) -> int:
        """Read before a look-up and handed to ``remember``: a revocation between the two wins."""
        return self._forgotten

    def tenant(self, token_hash: str) -> str | None:
        """The tenant of a token found valid within the last ``ttl_seconds``; else ``None`` (look it up)."""
        known = self._known.get(token_hash)
        if known is None or known.until <= self._clock():
            return None
        return known.tenant

    def remember(self, token_hash: str, tenant: str, *, generation: int) -> None:
        """``tenant``'s token, found valid by a look-up that began at ``generation``."""
        if self._ttl <= 0:
            return
        with self._lock:
            if generation != self._forgotten:
                return  # a revocation committed while it was looked up: it may be this token's
            if len(self._known) >= MAX_REMEMBERED:
                self._known.clear()
            self._known[token_hash] = _Known(tenant=tenant, until=self._clock() + self._ttl)

    def forget_tenant(self, tenant: str) -> None:
        """After any of ``tenant``'s tokens was revoked: each is looked up again on its next request."""
        with self._lock:
            self._forgotten += 1
            self._known = {digest: known for digest, known in self._known.items() if known.tenant != tenant}
