"""Annotated FastAPI dependencies: database session, tenant authentication, admin credential."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from sqlalchemy import Engine
from sqlmodel import Session

from contracts.users import ListUsers
from services.gateway import listing, store
from services.gateway.config import GatewaySettings
from services.gateway.correlator import Requester
from services.gateway.errors import ScimProblem
from services.gateway.ratelimit import TenantRateLimiter

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="roster"'}


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def _session(request: Request) -> Iterator[Session]:
    engine: Engine = request.app.state.engine
    with Session(engine) as session:
        yield session


def _requester(request: Request) -> Requester:
    requester: Requester = request.app.state.requester
    return requester


SettingsDep = Annotated[GatewaySettings, Depends(_settings)]
SessionDep = Annotated[Session, Depends(_session)]
RequesterDep = Annotated[Requester, Depends(_requester)]


def bearer_token(authorization: str | None) -> str | None:
    """The token of ``Bearer <token>``; admins sometimes type "Bearer" into Okta's field, which
    adds its own, so a doubled prefix is tolerated."""
    words = (authorization or "").split()
    if len(words) < 2 or words[0].lower() != "bearer":
        return None
    words = words[1:]
    if len(words) == 2 and words[0].lower() == "bearer":
        words = words[1:]
    return words[0] if len(words) == 1 else None


def _authenticate_tenant(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    token = bearer_token(authorization)
    if token is None:
        raise ScimProblem(
            401, "Missing bearer token: send 'Authorization: Bearer <SCIM token>'.", headers=_CHALLENGE
        )
    # A session of its own, closed before the request waits on Kafka for up to the gateway timeout.
    with Session(request.app.state.engine) as session:
        tenant = store.tenant_for_token(session, token=token)
    if tenant is None:
        raise ScimProblem(
            401,
            "The SCIM token is invalid or has been revoked. Generate a new token in Roster and"
            " update the API token in your identity provider.",
            headers=_CHALLENGE,
        )
    return tenant


def _authenticate_admin(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> None:
    token = bearer_token(authorization) or ""
    expected = settings.admin_token.get_secret_value()
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise ScimProblem(401, "Admin credential missing or wrong.", headers=_CHALLENGE)


def _within_rate_limit(request: Request, tenant: Annotated[str, Depends(_authenticate_tenant)]) -> str:
    limiter: TenantRateLimiter = request.app.state.rate_limiter
    wait = limiter.retry_after(tenant)
    if wait is not None:
        detail = f"Too many requests for this tenant; retry after {wait} s."
        raise ScimProblem(429, detail, headers={"Retry-After": str(wait)})
    return tenant


TenantId = Annotated[str, Depends(_within_rate_limit)]
AdminAuth = Depends(_authenticate_admin)


def _list_query(
    settings: SettingsDep,
    filter: Annotated[str | None, Query()] = None,
    start_index: Annotated[str | None, Query(alias="startIndex")] = None,
    count: Annotated[str | None, Query()] = None,
    sort_by: Annotated[str | None, Query(alias="sortBy")] = None,
    sort_order: Annotated[str | None, Query(alias="sortOrder")] = None,
) -> ListUsers:
    """RFC 7644 §3.4.2: the query parameters of a list request (GET /Users, GET /Groups)."""
    return listing.list_query(
        filter=filter,
        start_index=start_index,
        count=count,
        sort_by=sort_by,
        sort_order=sort_order,
        max_page_size=settings.max_page_size,
    )


ListQuery = Annotated[ListUsers, Depends(_list_query)]


def require_tenant(session: Session, tenant_id: str) -> None:
    """An admin request about a tenant that does not exist is 404, before anything is asked of it."""
    try:
        store.get_tenant(session, tenant_id=tenant_id)
    except store.TenantNotFound as error:
        raise ScimProblem(404, str(error)) from None
