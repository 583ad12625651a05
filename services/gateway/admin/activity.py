"""Admin API for the provisioning activity log: what each identity provider sent and was answered,
and what the services did, newest first. Asks the activity service (``activity.queries.v1``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from scim2_models import InvalidValueException

from contracts.activity import MAX_ACTIVITY_PAGE, MAX_NAME_CHARS, ActivityEntry, ListActivity, Outcome
from services.gateway.admin.access import admin_router, require_tenant
from services.gateway.http.dependencies import EngineDep, OwnersDep
from services.gateway.owners import ActivityClient

router = admin_router()

DEFAULT_PAGE = 50


class ActivityOut(BaseModel):
    tenant_id: str
    entries: list[ActivityEntry]
    next_cursor: str | None = Field(description="Pass as `after` for the next (older) page; null: no more.")


class ActivityFilters(BaseModel):
    """The filters every reader of the log offers (admin API, CLI, console)."""

    since: datetime | None = None
    until: datetime | None = None
    outcome: Outcome | None = None
    user: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS)
    team: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS)
    correlation_id: str | None = Field(default=None, min_length=1, max_length=64)
    request_id: str | None = Field(default=None, min_length=1, max_length=128)
    after: str | None = Field(default=None, min_length=1, max_length=128)
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_ACTIVITY_PAGE)

    @field_validator("team")
    @classmethod
    def _user_or_team(cls, team: str | None, info: ValidationInfo) -> str | None:
        """An entry is about a user or about a team, so the two together would select nothing."""
        if team is not None and info.data.get("user") is not None:
            raise ValueError("filter by user or by team, not both")
        return team

    def query(self) -> ListActivity:
        """The query, times in UTC (a time without a zone is taken as UTC); a range ending before it
        starts names nothing and is refused."""
        try:
            since, until = (None if t is None else _utc(t) for t in (self.since, self.until))
        except OverflowError:  # a zone that moves it past year 1 or 9999
            raise InvalidValueException(
                detail="since and until must be times between years 1 and 9999."
            ) from None
        if since is not None and until is not None and until <= since:
            raise InvalidValueException(detail="until must be later than since.")
        return ListActivity(**{**self.model_dump(), "since": since, "until": until})


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def read_activity(client: ActivityClient, tenant_id: str, filters: ActivityFilters) -> ActivityOut:
    page = await client.list(tenant_id, filters.query())
    return ActivityOut(tenant_id=tenant_id, entries=list(page.entries), next_cursor=page.next_cursor)


@router.get("/tenants/{tenant_id}/activity")
async def get_activity(
    tenant_id: str,
    engine: EngineDep,
    owners: OwnersDep,
    filters: Annotated[ActivityFilters, Query()],
) -> ActivityOut:
    """The tenant's activity, newest first: SCIM requests as answered (status, scimType, the exact
    detail the identity provider showed) and the users, teams and seats events they caused."""
    require_tenant(engine, tenant_id)
    return await read_activity(owners.activity, tenant_id, filters)
