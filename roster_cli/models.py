"""The admin API's answers as the CLI reads them: only the fields it shows, anything else ignored, so
the gateway may add fields without breaking installed clients."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

MAX_SEATS = 1_000_000
"""The admin API's largest seat limit (README, "Admin API"): checked before a tenant is created, so
``tenant create --seats`` never leaves a tenant half made."""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Tenant(_Answer):
    id: str
    name: str
    created_at: datetime
    active_tokens: int = 0


class IssuedToken(_Answer):
    tenant_id: str
    token: str


class Revoked(_Answer):
    tenant_id: str
    revoked: int


class ActiveToken(_Answer):
    id: int
    created_at: datetime


class ActiveTokens(_Answer):
    tenant_id: str
    tokens: list[ActiveToken]


class RevokedToken(_Answer):
    tenant_id: str
    token_id: int


class SeatUsage(_Answer):
    tenant_id: str
    used: int
    limit: int
    set_aside: int = 0  # a gateway older than the field


class SeatDrift(_Answer):
    seats_without_active_user: list[str]
    active_users_without_seat: list[str]
    waiting_for_seat: list[str] = []  # creates and reactivations the seats service has not decided yet
    set_aside: int = 0  # the allowance as the seats service counts it
    allowance_unspent: int = 0  # and as the users service holds it
    repair_requested: bool = False

    @property
    def allowance_in_step(self) -> bool:
        return self.set_aside == self.allowance_unspent

    @property
    def clean(self) -> bool:
        return (
            not (self.seats_without_active_user or self.active_users_without_seat) and self.allowance_in_step
        )


class TeamSource(StrEnum):
    MANAGER = "manager"
    PORTAL = "portal"
    SCIM = "scim"


class TeamMember(_Answer):
    user_id: str
    display: str | None = None


class Team(_Answer):
    id: str
    display_name: str
    external_id: str | None = None
    source: TeamSource
    linked: bool
    leader_id: str | None = None
    member_count: int
    members: list[TeamMember] | None = None  # None when the gateway did not send them (too many)
    created: datetime
    last_modified: datetime
    version: int


class TeamPage(_Answer):
    total_results: int
    start_index: int
    teams: list[Team]


class DefaultManager(_Answer):
    effective_id: str | None
    chosen_id: str | None
    first_coach_id: str | None


class DeadLetterState(StrEnum):
    UNRESOLVED = "unresolved"
    REPLAYED = "replayed"
    DISCARDED = "discarded"
    ALL = "all"


class DeadLetterEnvelope(_Answer):
    message_id: UUID
    type: str
    tenant: str
    correlation_id: UUID
    causation_id: UUID | None = None
    producer: str
    occurred_at: datetime


class DeadLetter(_Answer):
    id: str
    topic: str
    dlq_topic: str
    partition: int
    offset: int
    service: str | None = None
    error: str
    dead_lettered_at: datetime
    state: str
    decided_at: datetime | None = None
    replay_message_id: UUID | None = None
    envelope: DeadLetterEnvelope | None = None
    headers: dict[str, str] = {}


class DeadLetterList(_Answer):
    dead_letters: list[DeadLetter]
    total_results: int


class ActivityOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DEACTIVATED = "deactivated"
    DELETED = "deleted"
    READ = "read"
    REFUSED = "refused"
    FAILED = "failed"


class ActivityEntry(_Answer):
    entry_id: str
    occurred_at: datetime
    kind: str
    outcome: str
    summary: str
    client: str | None = None
    method: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    name: str | None = None
    status: int | None = None
    scim_type: str | None = None
    detail: str | None = None
    correlation_id: str
    duration_ms: float | None = None
    request_id: str | None = None


class ActivityPage(_Answer):
    tenant_id: str
    entries: list[ActivityEntry]
    next_cursor: str | None = None
