"""The console's activity feed: a tenant's provisioning activity log, with the admin API's filters and
the exact error detail each identity provider was answered."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from scim2_models import SCIMException

from contracts.activity import Outcome
from services.gateway.admin.activity import ActivityFilters, read_activity
from services.gateway.console import views
from services.gateway.console.access import PageSession
from services.gateway.console.forms import FormRefused, parsed
from services.gateway.console.rendering import ConsoleRoute, render
from services.gateway.http.dependencies import EngineDep, OwnersDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

Text = Annotated[str, Query(max_length=1000)]


def _filters(values: dict[str, str]) -> ActivityFilters:
    """The form's values by the admin API's rules; a range ending before it starts is refused too."""
    filters = parsed(ActivityFilters, values)
    try:
        filters.query()
    except SCIMException as refusal:
        raise FormRefused(f"Until: {refusal.detail}") from None
    return filters


@router.get("/tenants/{tenant_id}/activity")
async def activity_page(
    request: Request,
    tenant_id: str,
    session: PageSession,
    engine: EngineDep,
    owners: OwnersDep,
    outcome: Text = "",
    user: Text = "",
    team: Text = "",
    since: Text = "",
    until: Text = "",
    correlation_id: Text = "",
    request_id: Text = "",
    after: Text = "",
) -> Response:
    tenant = views.tenant(engine, tenant_id)
    shown = {"outcome": outcome, "user": user, "team": team, "since": since, "until": until}
    shown.update(correlation_id=correlation_id, request_id=request_id)
    context: dict[str, Any] = {
        "session": session,
        "tenant": tenant,
        "shown": shown,
        "outcomes": list(Outcome),
    }
    try:
        filters = _filters({**shown, "after": after})
    except FormRefused as refusal:
        return render(request, "activity.html", status=400, error=refusal.message, **context)
    try:
        page = await read_activity(owners.activity, tenant_id, filters)
    except SCIMException as refusal:  # a cursor the activity service does not know
        if refusal.status != 400:
            raise
        return render(request, "activity.html", status=400, error=f"Page: {refusal.detail}", **context)
    older = None
    if page.next_cursor:
        kept = {name: value for name, value in shown.items() if value.strip()}
        older = f"{request.url.path}?{urlencode({**kept, 'after': page.next_cursor})}"
    return render(request, "activity.html", page=page, older=older, **context)
