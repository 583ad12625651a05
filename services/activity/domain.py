"""Pure rules of the activity log: what an event or a request outcome is worth recording, and as what.

Every users, teams and seats event becomes one entry about its user or team; every SCIM request's outcome
(``RequestOutcome``) one entry with the status, scimType and detail the identity provider was answered.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from scim2_models import Path, User, default_comparison_key

from contracts import seats, teams, users
from contracts.activity import ClientKind, EntryKind, Outcome, RequestOutcome
from contracts.envelope import Envelope, Message
from contracts.rejections import Rejection, RejectionReason

USER = "User"
GROUP = "Group"
_READS = frozenset({"GET", "HEAD"})


class BadCursor(Rejection):
    """An ``after`` value that is not a cursor this service handed out."""

    reason = RejectionReason.INVALID_VALUE


@dataclass(frozen=True)
class Entry:
    """One row of the activity log, before it is stored."""

    entry_id: str
    tenant: str
    occurred_at: datetime
    kind: EntryKind
    outcome: Outcome
    summary: str
    correlation_id: str
    resource_type: str | None = None
    resource_id: str | None = None
    name: str | None = None
    client: ClientKind | None = None
    method: str | None = None
    status: int | None = None
    scim_type: str | None = None
    detail: str | None = None
    duration_ms: float | None = None
    request_id: str | None = None

    @property
    def names_its_resource(self) -> bool:
        """Whether ``name`` is the name the resource goes by, so the id's other entries may be shown
        and found under it. An event's always is, and so is a create's (the gateway minted the id for
        that name, whatever the answer) or an accepted request's. A refused request on an existing id
        names what the client sent: a rename refused as taken names another user's userName, and a
        request for an id of no user of the tenant names nothing at all."""
        return self.kind is not EntryKind.REQUEST or self.method == "POST" or (self.status or 0) < 400


def request_outcome(*, method: str, status: int) -> Outcome:
    """What a SCIM request did, from its method and the status it was answered: a POST answered 200
    is a search (``/.search``), a create is answered 201."""
    if status >= 500:
        return Outcome.FAILED
    if status >= 400:
        return Outcome.REFUSED
    if method in _READS or status == 304 or (method == "POST" and status == 200):
        return Outcome.READ
    if method == "POST":
        return Outcome.CREATED
    if method == "DELETE":
        return Outcome.DELETED
    return Outcome.UPDATED


def from_request(envelope: Envelope, outcome: RequestOutcome) -> Entry:
    return Entry(
        entry_id=str(envelope.message_id),
        tenant=envelope.tenant,
        occurred_at=envelope.occurred_at.astimezone(UTC),
        correlation_id=str(envelope.correlation_id),
        summary=f"{outcome.method} {outcome.resource_type}",
        kind=EntryKind.REQUEST,
        outcome=request_outcome(method=outcome.method, status=outcome.status),
        resource_type=outcome.resource_type,
        resource_id=outcome.resource_id,
        name=outcome.name,
        client=outcome.client,
        method=outcome.method,
        status=outcome.status,
        scim_type=outcome.scim_type,
        detail=outcome.detail,
        duration_ms=outcome.duration_ms,
        request_id=outcome.request_id,
    )


_USER_OUTCOMES: dict[type[Message], Outcome] = {
    users.UserCreated: Outcome.CREATED,
    users.UserUpdated: Outcome.UPDATED,
    users.UserDeactivated: Outcome.DEACTIVATED,
    users.UserReactivated: Outcome.UPDATED,
    users.UserDeleted: Outcome.DELETED,
    users.UserManagerChanged: Outcome.UPDATED,
    seats.SeatReserved: Outcome.UPDATED,
    seats.SeatReleased: Outcome.UPDATED,
    seats.SeatDenied: Outcome.REFUSED,
}
_TEAM_OUTCOMES: dict[type[Message], Outcome] = {
    teams.TeamCreated: Outcome.CREATED,
    teams.TeamLinked: Outcome.UPDATED,
    teams.TeamUnlinked: Outcome.UPDATED,
    teams.TeamRenamed: Outcome.UPDATED,
    teams.TeamMembersChanged: Outcome.UPDATED,
    teams.TeamDeleted: Outcome.DELETED,
}


def _subject(event: Message) -> tuple[str | None, str | None, str | None]:
    """The resource type, id and name an event is about (tenant-wide events: none)."""
    if isinstance(event, users.UserCreated | users.UserUpdated):
        return USER, event.user.id, event.user.profile.user_name
    if type(event) in _USER_OUTCOMES:
        return USER, getattr(event, "user_id", None), None
    if isinstance(event, teams.TeamCreated | teams.TeamLinked | teams.TeamUnlinked | teams.TeamRenamed):
        return GROUP, event.team_id, event.display_name
    if type(event) in _TEAM_OUTCOMES:
        return GROUP, getattr(event, "team_id", None), None
    return None, None, None


def from_event(envelope: Envelope, event: Message) -> Entry:
    """Any event of the users, teams or seats service; tenant-wide ones (seat limit, default
    manager) are recorded as updates of the tenant."""
    outcome = _USER_OUTCOMES.get(type(event)) or _TEAM_OUTCOMES.get(type(event)) or Outcome.UPDATED
    resource_type, resource_id, name = _subject(event)
    return Entry(
        entry_id=str(envelope.message_id),
        tenant=envelope.tenant,
        occurred_at=envelope.occurred_at.astimezone(UTC),
        correlation_id=str(envelope.correlation_id),
        summary=envelope.type,
        kind=EntryKind.EVENT,
        outcome=outcome,
        resource_type=resource_type,
        resource_id=resource_id,
        name=name,
    )


_USER_NAME = Path[User[Any]]("userName").resolve()


def name_key(name: str) -> str:
    """What a name filter compares: a userName, like a group's displayName, is caseExact false (RFC
    7643 §4.1.1, §4.2), so ``ANN@x.io`` finds ``ann@x.io``'s entries. scim2-models' comparison key
    (NFC, lower case, NFC again), the key the users and teams services' own filters compare by."""
    return default_comparison_key(_USER_NAME, name)


def retention_cutoff(now: datetime, *, retention_days: int) -> datetime:
    return now - timedelta(days=retention_days)


def cursor(occurred_at: datetime, entry_id: str) -> str:
    """Where the next (older) page starts: opaque to clients, URL-safe."""
    text = f"{occurred_at.astimezone(UTC).isoformat()}|{entry_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def parse_cursor(value: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        moment, entry_id = text.split("|", 1)
        return datetime.fromisoformat(moment).astimezone(UTC), str(UUID(entry_id))
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as error:
        raise BadCursor(f'"{value[:40]}" is not a cursor of this activity log.') from error
