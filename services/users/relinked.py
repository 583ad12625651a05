"""What a user write did to the manager relation, and the events that announce it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts.envelope import Envelope, Message, wrap_descendant
from contracts.topics import USERS_EVENTS, tenant_key
from contracts.users import (
    DefaultManagerChanged,
    ManagerVia,
    UserCreated,
    UserManagerChanged,
    UserRecord,
    UserUpdated,
)
from servicekit.records import Outgoing
from services.users.messages import PRODUCER, user_event


@dataclass(frozen=True)
class Relinked:
    """What a user write did to the manager relation."""

    manager_id: str | None  # the written user's manager after the transaction
    manager_via: ManagerVia | None = None  # why: their reference, or the default manager
    changes: list[UserManagerChanged] = field(default_factory=list)
    default_change: DefaultManagerChanged | None = None  # the default moved (first Coach, deactivation…)

    def announced(self, cause: Envelope) -> list[Outgoing]:
        return [*announce_default(cause, self.default_change), *announce(cause, self.changes)]

    def stamp(self, user: UserRecord) -> UserRecord:
        return user.model_copy(update={"manager_id": self.manager_id, "manager_via": self.manager_via})

    def stamp_events(self, events: Iterable[Message]) -> list[Message]:
        """UserCreated/UserUpdated carry the user as the transaction leaves them."""
        stamped: list[Message] = []
        for event in events:
            if isinstance(event, UserCreated | UserUpdated):
                event = event.model_copy(update={"user": self.stamp(event.user)})
            stamped.append(event)
        return stamped


def announce(cause: Envelope, changes: Iterable[UserManagerChanged]) -> list[Outgoing]:
    return [user_event(cause, change.user_id, change) for change in changes]


def announce_default(cause: Envelope, change: DefaultManagerChanged | None) -> list[Outgoing]:
    """Keyed by tenant: the default manager is the tenant's, not one user's."""
    if change is None:
        return []
    envelope = wrap_descendant(change, cause=cause, producer=PRODUCER)
    return [Outgoing(topic=USERS_EVENTS, key=tenant_key(cause.tenant), envelope=envelope)]
