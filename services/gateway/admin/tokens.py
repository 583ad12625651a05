"""Admin API for a tenant's SCIM tokens one by one: which are in force, and revoking a single one (after
the identity provider was switched over to a newer token). Issuing, rotating and revoking them all are
in ``tenants``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from services.gateway import store
from services.gateway.admin.access import admin_router
from services.gateway.admin.tenants import in_transaction
from services.gateway.http.dependencies import KnownTokensDep, SessionDep

router = admin_router()


class ActiveToken(BaseModel):
    id: int
    created_at: datetime


class ActiveTokens(BaseModel):
    tenant_id: str
    tokens: list[ActiveToken]


class RevokedToken(BaseModel):
    tenant_id: str
    token_id: int


@router.get("/tenants/{tenant_id}/tokens")
def list_tokens(tenant_id: str, session: SessionDep) -> ActiveTokens:
    """The tokens in force, oldest first; the tokens themselves were shown once, when issued."""
    tokens = in_transaction(session, lambda: store.active_tokens(session, tenant_id=tenant_id))
    return ActiveTokens(
        tenant_id=tenant_id, tokens=[ActiveToken(id=t.id or 0, created_at=t.created_at) for t in tokens]
    )


@router.delete("/tenants/{tenant_id}/tokens/{token_id}")
def revoke_token(tenant_id: str, token_id: int, session: SessionDep, known: KnownTokensDep) -> RevokedToken:
    in_transaction(session, lambda: store.revoke_token(session, tenant_id=tenant_id, token_id=token_id))
    known.forget_tenant(tenant_id)
    return RevokedToken(tenant_id=tenant_id, token_id=token_id)
