"""Who is asking: a tenant's SCIM token (then its rate limit), or the admin credential."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request
from scim2_models import UnauthorizedException
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from servicekit.db import read_session
from servicekit.logs import annotate
from services.gateway import store
from services.gateway.config import GatewaySettings
from services.gateway.http.errors import TooManyRequests
from services.gateway.http.known_tokens import KnownTokens
from services.gateway.http.ratelimit import TenantRateLimiter


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


async def _authenticate_tenant(request: Request, authorization: str | None) -> str:
    token = bearer_token(authorization)
    if token is None:
        raise UnauthorizedException(detail="Missing bearer token: send 'Authorization: Bearer <SCIM token>'.")
    presented = store.hash_token(token)
    known: KnownTokens = request.app.state.known_tokens
    tenant = known.tenant(presented)
    if tenant is None:
        generation = known.generation
        tenant = await run_in_threadpool(_look_up, request.app.state.engine, presented)
        if tenant is not None:
            known.remember(presented, tenant, generation=generation)
    if tenant is None:
        raise UnauthorizedException(
            detail="The SCIM token is invalid or has been revoked. Generate a new token in Roster and"
            " update the API token in your identity provider."
        )
    request.state.tenant = tenant  # for the metrics of this request
    annotate(tenant=tenant)
    return tenant


def _look_up(engine: Engine, presented: str) -> str | None:
    # A session of its own, closed before the request waits on Kafka for up to the gateway timeout;
    # a read transaction, so on SQLite every request does not queue for the write lock.
    with read_session(engine) as session:
        return store.tenant_for_token_hash(session, presented=presented)


def is_admin_token(settings: GatewaySettings, token: str) -> bool:
    """Compared in constant time (the admin API's bearer token, the console's sign-in)."""
    return hmac.compare_digest(token.encode(), settings.admin_token.get_secret_value().encode())


def authenticate_admin(settings: GatewaySettings, authorization: str | None) -> None:
    if not is_admin_token(settings, bearer_token(authorization) or ""):
        raise UnauthorizedException(detail="Admin credential missing or wrong.")


async def _within_rate_limit(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    # A coroutine: a remembered token and a token this instance holds need no worker thread, whose hop
    # there and back is a measurable share of a request (BENCHMARKS.md); a look-up or a lease takes one.
    tenant = await _authenticate_tenant(request, authorization)
    limiter: TenantRateLimiter = request.app.state.rate_limiter
    if limiter.take_held(tenant):
        return tenant
    wait = await run_in_threadpool(limiter.retry_after, tenant)
    if wait is not None:
        raise TooManyRequests(retry_after=wait)
    return tenant


TenantId = Annotated[str, Depends(_within_rate_limit)]
