"""The console's read-only pages: tenants, and a tenant's users, teams and manager tree."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.gateway.admin import people, teams
from services.gateway.console import views
from services.gateway.console.access import PageSession
from services.gateway.console.forms import FormRefused, UserSearch, parsed
from services.gateway.console.rendering import ConsoleRoute, redirect, render
from services.gateway.http.dependencies import EngineDep, OwnersDep, SettingsDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

Start = Annotated[int, Query(ge=1, le=2**31 - 1)]


@router.get("/tenants")
async def tenants_page(
    request: Request, session: PageSession, engine: EngineDep, owners: OwnersDep
) -> Response:
    rows = await views.tenant_rows(engine, owners)
    return render(request, "tenants.html", session=session, rows=rows)


@router.get("/tenants/{tenant_id}")
async def tenant_home(tenant_id: str, _session: PageSession) -> Response:
    return redirect(f"/console/tenants/{tenant_id}/users")


@router.get("/tenants/{tenant_id}/users")
async def users_page(
    request: Request,
    tenant_id: str,
    session: PageSession,
    engine: EngineDep,
    owners: OwnersDep,
    q: str | None = None,
    start: Start = 1,
) -> Response:
    tenant = views.tenant(engine, tenant_id)
    try:
        search = parsed(UserSearch, {"q": q or ""}).q
    except FormRefused as refusal:
        return render(
            request, "users.html", session=session, tenant=tenant, status=400, error=refusal.message
        )
    listed = await people.list_users(
        tenant_id, engine, owners, search=search, start_index=start, count=people.ADMIN_PAGE_SIZE
    )
    return render(request, "users.html", session=session, tenant=tenant, listed=listed, q=search or "")


@router.get("/tenants/{tenant_id}/teams")
async def teams_page(
    request: Request,
    tenant_id: str,
    session: PageSession,
    engine: EngineDep,
    owners: OwnersDep,
    start: Start = 1,
) -> Response:
    tenant = views.tenant(engine, tenant_id)
    listed = await teams.team_page(
        tenant_id, engine, owners, source=None, start_index=start, count=teams.ADMIN_PAGE_SIZE
    )
    return render(request, "teams.html", session=session, tenant=tenant, listed=listed)


@router.get("/tenants/{tenant_id}/org")
async def org_page(
    request: Request,
    tenant_id: str,
    session: PageSession,
    engine: EngineDep,
    owners: OwnersDep,
    settings: SettingsDep,
) -> Response:
    tenant = views.tenant(engine, tenant_id)
    tree = await people.manager_tree(tenant_id, engine, owners, settings)
    return render(request, "org.html", session=session, tenant=tenant, tree=tree)
