"""Creates answered 503 that the users service may still complete.

A create the gateway stops waiting for (no reply within ``GATEWAY_REQUEST_TIMEOUT_SECONDS``) is still
in Kafka and completes once the users service handles it. The identity provider, answered 503, sends
the same POST again; the users service then refuses the userName its first attempt took (409), and
Okta marks the user as failed. The gateway remembers such creates for a while, so the repeated POST is
answered with the user its first attempt made (RFC 7644 §3.3: the resource as created).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from contracts.users import UserProfile

KEEP_SECONDS = 3600.0  # Okta retries within minutes; Entra ID's next cycle comes within 40 minutes
MOST_REMEMBERED = 10_000


@dataclass(frozen=True)
class _Unanswered:
    user_id: str
    profile: UserProfile
    at: float


class UnansweredCreates:
    """In this gateway's memory: a repeated POST that reaches another instance is refused 409 as before."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._creates: OrderedDict[tuple[str, str], _Unanswered] = OrderedDict()

    def remember(self, tenant: str, profile: UserProfile, user_id: str) -> None:
        key = (tenant, profile.user_name)
        self._creates.pop(key, None)
        self._creates[key] = _Unanswered(user_id, profile, self._clock())
        while len(self._creates) > MOST_REMEMBERED:
            self._creates.popitem(last=False)

    def earlier_id(self, tenant: str, profile: UserProfile) -> str | None:
        """The id an unanswered create of this very profile was given, if one was, lately."""
        earlier = self._creates.get((tenant, profile.user_name))
        if earlier is None or earlier.profile != profile or self._clock() - earlier.at > KEEP_SECONDS:
            return None
        return earlier.user_id
