"""Admin API (its own credential, never a tenant's SCIM token): tenants and their SCIM tokens.

Tokens appear in a response exactly once, when issued; only their hashes are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, Field
from scim2_models import NotFoundException, UniquenessException
from sqlmodel import Session

from contracts.text import VisibleText
from servicekit.logs import annotate
from services.gateway import store
from services.gateway.admin.access import AdminBody, admin_router
from services.gateway.http.dependencies import KnownTokensDep, SessionDep

router = admin_router()

T = TypeVar("T")


class NewTenant(AdminBody):
    name: VisibleText = Field(min_length=1, max_length=200)


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    active_tokens: int = 0


class IssuedToken(BaseModel):
    tenant_id: str
    token: str


class Revoked(BaseModel):
    tenant_id: str
    revoked: int


def in_transaction(session: Session, action: Callable[[], T]) -> T:
    try:
        result = action()
        session.commit()
        return result
    except (store.TenantNotFound, store.TokenNotFound) as error:
        session.rollback()
        raise NotFoundException(detail=str(error)) from None
    except store.TenantNameTaken as error:
        session.rollback()
        raise UniquenessException(detail=str(error)) from None


@router.post("/tenants", status_code=201)
def create_tenant(body: NewTenant, session: SessionDep) -> TenantOut:
    tenant = in_transaction(session, lambda: store.create_tenant(session, name=body.name.strip()))
    annotate(tenant=tenant.id)  # for the audit line (services/gateway/request_context.py)
    return TenantOut(id=tenant.id, name=tenant.name, created_at=tenant.created_at)


@router.get("/tenants")
def list_tenants(session: SessionDep) -> list[TenantOut]:
    return [
        TenantOut(id=t.id, name=t.name, created_at=t.created_at, active_tokens=n)
        for t, n in store.list_tenants(session)
    ]


@router.get("/tenants/{tenant_id}")
def get_tenant(tenant_id: str, session: SessionDep) -> TenantOut:
    tenant = in_transaction(session, lambda: store.get_tenant(session, tenant_id=tenant_id))
    active = len(store.active_tokens(session, tenant_id=tenant_id))
    return TenantOut(id=tenant.id, name=tenant.name, created_at=tenant.created_at, active_tokens=active)


@router.post("/tenants/{tenant_id}/tokens", status_code=201)
def issue_token(tenant_id: str, session: SessionDep) -> IssuedToken:
    token = in_transaction(session, lambda: store.issue_token(session, tenant_id=tenant_id))
    return IssuedToken(tenant_id=tenant_id, token=token)


@router.post("/tenants/{tenant_id}/tokens/rotate", status_code=201)
def rotate_token(tenant_id: str, session: SessionDep, known: KnownTokensDep) -> IssuedToken:
    token = in_transaction(session, lambda: store.rotate_token(session, tenant_id=tenant_id))
    known.forget_tenant(tenant_id)
    return IssuedToken(tenant_id=tenant_id, token=token)


@router.delete("/tenants/{tenant_id}/tokens")
def revoke_tokens(tenant_id: str, session: SessionDep, known: KnownTokensDep) -> Revoked:
    count = in_transaction(session, lambda: store.revoke_tokens(session, tenant_id=tenant_id))
    known.forget_tenant(tenant_id)
    return Revoked(tenant_id=tenant_id, revoked=count)
