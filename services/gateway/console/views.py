"""What a console page shows, put together from the admin API's own functions (nothing here decides
anything the admin API does not)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from scim2_models import NotFoundException, SCIMException
from sqlalchemy import Engine
from sqlmodel import Session

from contracts.activity import ActivityEntry, ListActivity
from contracts.users import DefaultManager, UserRecord
from servicekit.db import read_session
from services.gateway.admin import default_manager, people, seats, tenants, tokens
from services.gateway.http.correlator import ServiceUnavailable
from services.gateway.owners import Owners

Answer = TypeVar("Answer")


@dataclass(frozen=True)
class TenantRow:
    tenant: tenants.TenantOut
    seats: seats.SeatUsageOut | None  # None: the seats service did not answer
    last_activity: ActivityEntry | None
    activity_known: bool  # False: the activity service did not answer


@dataclass(frozen=True)
class DefaultManagerView:
    choice: DefaultManager
    people: dict[str, UserRecord]  # the users it names


def tenant(engine: Engine, tenant_id: str) -> tenants.TenantOut:
    """404 (NotFoundException) for an unknown tenant."""
    with Session(engine) as session:
        return tenants.get_tenant(tenant_id, session)


async def if_answered(asked: Awaitable[Answer]) -> Answer | None:
    """None when the owner did not answer or could not: the page shows the rest, and says so."""
    try:
        return await asked
    except NotFoundException:  # the tenant is gone: no page to show
        raise
    except (SCIMException, ServiceUnavailable):
        return None


async def _last_activity(owners: Owners, tenant_id: str) -> tuple[ActivityEntry | None, bool]:
    page = await if_answered(owners.activity.list(tenant_id, ListActivity(limit=1)))
    return (page.entries[0] if page and page.entries else None), page is not None


async def tenant_rows(engine: Engine, owners: Owners) -> list[TenantRow]:
    """Every tenant, with its seats and its latest activity asked of their services for all tenants
    at once."""
    with read_session(engine) as session:  # on the event loop: never wait for SQLite's write lock
        listed = tenants.list_tenants(session)
    usage = asyncio.gather(*(if_answered(seats.get_seats(t.id, engine, owners)) for t in listed))
    latest = asyncio.gather(*(_last_activity(owners, t.id) for t in listed))
    used, last = await asyncio.gather(usage, latest)
    return [
        TenantRow(tenant=t, seats=u, last_activity=entry, activity_known=known)
        for t, u, (entry, known) in zip(listed, used, last, strict=True)
    ]


async def default_manager_view(engine: Engine, owners: Owners, tenant_id: str) -> DefaultManagerView:
    choice = await default_manager.get_default_manager(tenant_id, engine, owners)
    named = {choice.chosen_id, choice.first_coach_id, choice.effective_id} - {None}
    found = await people.users_by_id(owners.users, tenant_id, (user_id for user_id in named if user_id))
    return DefaultManagerView(choice=choice, people=found)


def active_tokens(engine: Engine, tenant_id: str) -> tokens.ActiveTokens:
    with Session(engine) as session:
        return tokens.list_tokens(tenant_id, session)
