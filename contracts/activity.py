"""Messages of the provisioning activity log: the gateway's record of every SCIM request's outcome
(``gateway.outcomes.v1``), and the activity service's queries and replies.

An outcome never carries a request or response body, a token or a password: only identifiers and the
names already in Roster (userName, group displayName) and the SCIM error Roster answered.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import Message

MAX_ACTIVITY_PAGE = 200
MAX_DETAIL_CHARS = 2000  # a SCIM error detail is a sentence; anything longer is cut, never refused
MAX_NAME_CHARS = 512  # the longest userName or group displayName Roster stores


class ClientKind(StrEnum):
    """Which identity provider sent the request, from its User-Agent (docs/scim-clients.md)."""

    OKTA = "okta"
    ENTRA = "entra"
    OTHER = "other"


def client_kind(user_agent: str) -> ClientKind:
    """By the agent's name: Okta's says Okta (``Okta SCIM Client 1.0.0``); Entra ID's provisioning
    service names Microsoft or Azure (a match on any of Microsoft, Azure or Entra, whatever the version)."""
    agent = user_agent.lower()
    if "okta" in agent:
        return ClientKind.OKTA
    if "microsoft" in agent or "azure" in agent or "entra" in agent:
        return ClientKind.ENTRA
    return ClientKind.OTHER


class Outcome(StrEnum):
    """What a request or an event did, as the activity feed filters it."""

    CREATED = "created"
    UPDATED = "updated"
    DEACTIVATED = "deactivated"
    DELETED = "deleted"
    READ = "read"
    REFUSED = "refused"  # the client's request was answered 4xx (its detail says why)
    FAILED = "failed"  # Roster could not answer (5xx)


class EntryKind(StrEnum):
    REQUEST = "request"  # a SCIM request, as the gateway answered it
    EVENT = "event"  # what a service announced (users, teams, seats events)


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# Events (gateway.outcomes.v1, keyed by tenant)


class RequestOutcome(Message):
    """One SCIM request as the gateway answered it. Its envelope's correlation id is the request's
    (the one its Kafka messages carried), so it joins the events the request caused."""

    client: ClientKind
    method: str = Field(max_length=10)
    resource_type: str = Field(max_length=32, description="User, Group, or the endpoint (e.g. Schemas).")
    resource_id: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    name: str | None = Field(
        default=None, max_length=MAX_NAME_CHARS, description="The userName or group displayName, if known."
    )
    status: int = Field(ge=100, le=599)
    scim_type: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(
        default=None, max_length=MAX_DETAIL_CHARS, description="The SCIM error detail sent, exactly."
    )
    duration_ms: float = Field(ge=0)
    request_id: str | None = Field(default=None, max_length=128)


# Queries (activity.queries.v1)


class ListActivity(Message):
    """A tenant's activity, newest first. ``after`` is the ``next_cursor`` of the previous page."""

    since: datetime | None = None
    until: datetime | None = None
    outcome: Outcome | None = None
    user: str | None = Field(default=None, max_length=MAX_NAME_CHARS, description="A user id or userName.")
    team: str | None = Field(default=None, max_length=MAX_NAME_CHARS, description="A team id or name.")
    correlation_id: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(
        default=None,
        max_length=128,
        description="The X-Request-ID a SCIM request was answered with (a 5xx detail's `Request id`):"
        " that request and everything it caused.",
    )
    after: str | None = Field(default=None, max_length=128)
    limit: int = Field(default=50, ge=1, le=MAX_ACTIVITY_PAGE)


# Replies


class ActivityEntry(_Data):
    entry_id: str = Field(description="The message id of the request outcome or event it records.")
    occurred_at: datetime
    kind: EntryKind
    outcome: Outcome
    summary: str = Field(description="The event type, or `<METHOD> <resource type>` for a request.")
    client: ClientKind | None = None
    method: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    name: str | None = None
    status: int | None = None
    scim_type: str | None = None
    detail: str | None = None
    correlation_id: str
    duration_ms: float | None = None
    request_id: str | None = Field(default=None, description="The request's X-Request-ID, as answered.")


class ActivityPage(Message):
    entries: tuple[ActivityEntry, ...]
    next_cursor: str | None = Field(default=None, description="Pass as `after` for the next (older) page.")
