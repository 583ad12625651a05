"""The console's pages that change something: the default manager, the seat limit, SCIM tokens.

A refused value re-renders the page with the reason (and its status) and changes nothing; a change done
redirects to the page with a notice (post/redirect/get), except a new token, shown once on the answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from scim2_models import SCIMException

from services.gateway.admin import default_manager, people, seats, tenants, tokens
from services.gateway.console import views
from services.gateway.console.access import FormSession, PageSession
from services.gateway.console.forms import (
    DefaultManagerForm,
    FormRefused,
    TokenChoice,
    UserSearch,
    form_values,
    parsed,
)
from services.gateway.console.rendering import ConsoleRoute, redirect, render
from services.gateway.console.sessions import ConsoleSession
from services.gateway.http.dependencies import EngineDep, KnownTokensDep, OwnersDep, SessionDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

NOTICES = {
    "default-manager": "Default manager changed.",
    "seats": "Seat limit changed.",
    "revoked": "Token revoked.",
    "revoked-all": "Every token of this tenant is revoked.",
}


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


async def _default_manager_page(
    request: Request,
    session: ConsoleSession,
    engine: EngineDep,
    owners: OwnersDep,
    tenant_id: str,
    **extra: Any,
) -> Response:
    tenant = views.tenant(engine, tenant_id)
    view = await views.if_answered(views.default_manager_view(engine, owners, tenant_id))
    # The picker shows one page of users; a tenant with more is narrowed by a search, as on Users.
    try:
        search = parsed(UserSearch, {"q": request.query_params.get("q", "")}).q
    except FormRefused as refusal:
        search, extra = None, {**extra, "status": 400, "error": refusal.message}
    candidates = await views.if_answered(
        people.list_users(
            tenant_id, engine, owners, search=search, start_index=1, count=people.ADMIN_PAGE_SIZE
        )
    )
    return render(
        request,
        "default_manager.html",
        session=session,
        tenant=tenant,
        view=view,
        candidates=candidates,
        q=search or "",
        **extra,
    )


@router.get("/tenants/{tenant_id}/default-manager")
async def default_manager_page(
    request: Request, tenant_id: str, session: PageSession, engine: EngineDep, owners: OwnersDep
) -> Response:
    return await _default_manager_page(request, session, engine, owners, tenant_id, notice=_notice(request))


@router.post("/tenants/{tenant_id}/default-manager")
async def change_default_manager(
    request: Request, tenant_id: str, session: FormSession, engine: EngineDep, owners: OwnersDep
) -> Response:
    views.tenant(engine, tenant_id)
    try:
        form = parsed(DefaultManagerForm, await form_values(request))
        choice = default_manager.DefaultManagerChoice(
            user_id=form.user_id if form.action == "choose" else None
        )
        await default_manager.set_default_manager(tenant_id, engine, choice, owners)
    except FormRefused as refusal:
        return await _default_manager_page(
            request, session, engine, owners, tenant_id, status=400, error=refusal.message
        )
    except SCIMException as refusal:  # the users service's rule: role manager or above
        return await _default_manager_page(
            request, session, engine, owners, tenant_id, status=refusal.status, error=refusal.detail
        )
    return redirect(f"/console/tenants/{tenant_id}/default-manager?notice=default-manager")


async def _seats_page(
    request: Request,
    session: ConsoleSession,
    engine: EngineDep,
    owners: OwnersDep,
    tenant_id: str,
    **extra: Any,
) -> Response:
    tenant = views.tenant(engine, tenant_id)
    usage = await views.if_answered(seats.get_seats(tenant_id, engine, owners))
    return render(request, "seats.html", session=session, tenant=tenant, usage=usage, **extra)


@router.get("/tenants/{tenant_id}/seats")
async def seats_page(
    request: Request, tenant_id: str, session: PageSession, engine: EngineDep, owners: OwnersDep
) -> Response:
    return await _seats_page(request, session, engine, owners, tenant_id, notice=_notice(request))


@router.post("/tenants/{tenant_id}/seats")
async def change_seats(
    request: Request, tenant_id: str, session: FormSession, engine: EngineDep, owners: OwnersDep
) -> Response:
    views.tenant(engine, tenant_id)
    try:
        limit = parsed(seats.SeatLimitIn, await form_values(request))
    except FormRefused as refusal:
        return await _seats_page(
            request, session, engine, owners, tenant_id, status=400, error=refusal.message
        )
    await seats.put_seats(tenant_id, engine, limit, owners)
    return redirect(f"/console/tenants/{tenant_id}/seats?notice=seats")


def _tokens_page(
    request: Request, session: ConsoleSession, engine: EngineDep, tenant_id: str, **extra: Any
) -> Response:
    tenant = views.tenant(engine, tenant_id)
    active = views.active_tokens(engine, tenant_id)
    return render(request, "tokens.html", session=session, tenant=tenant, active=active, **extra)


@router.get("/tenants/{tenant_id}/tokens")
async def tokens_page(request: Request, tenant_id: str, session: PageSession, engine: EngineDep) -> Response:
    return _tokens_page(request, session, engine, tenant_id, notice=_notice(request))


@router.post("/tenants/{tenant_id}/tokens/issue")
async def issue_token(
    request: Request, tenant_id: str, session: FormSession, engine: EngineDep, db: SessionDep
) -> Response:
    issued = tenants.issue_token(tenant_id, db)
    return _tokens_page(request, session, engine, tenant_id, issued=issued.token)


@router.post("/tenants/{tenant_id}/tokens/rotate")
async def rotate_token(
    request: Request,
    tenant_id: str,
    session: FormSession,
    engine: EngineDep,
    db: SessionDep,
    known: KnownTokensDep,
) -> Response:
    issued = tenants.rotate_token(tenant_id, db, known)
    return _tokens_page(request, session, engine, tenant_id, issued=issued.token, rotated=True)


@router.post("/tenants/{tenant_id}/tokens/revoke")
async def revoke_token(
    request: Request,
    tenant_id: str,
    session: FormSession,
    engine: EngineDep,
    db: SessionDep,
    known: KnownTokensDep,
) -> Response:
    views.tenant(engine, tenant_id)
    try:
        choice = parsed(TokenChoice, await form_values(request))
        tokens.revoke_token(tenant_id, choice.token_id, db, known)
    except FormRefused as refusal:
        return _tokens_page(request, session, engine, tenant_id, status=400, error=refusal.message)
    except SCIMException as refusal:  # not an active token of this tenant
        return _tokens_page(request, session, engine, tenant_id, status=refusal.status, error=refusal.detail)
    return redirect(f"/console/tenants/{tenant_id}/tokens?notice=revoked")


@router.post("/tenants/{tenant_id}/tokens/revoke-all")
async def revoke_all_tokens(
    request: Request, tenant_id: str, _session: FormSession, db: SessionDep, known: KnownTokensDep
) -> Response:
    tenants.revoke_tokens(tenant_id, db, known)
    return redirect(f"/console/tenants/{tenant_id}/tokens?notice=revoked-all")
