"""What every admin route requires: the admin credential (never a tenant's SCIM token) and, for the
routes about one tenant, a tenant that exists."""

from __future__ import annotations

from fastapi import APIRouter
from scim2_models import NotFoundException
from sqlalchemy import Engine
from sqlmodel import Session

from services.gateway import store
from services.gateway.http.auth import AdminAuth

ADMIN_PREFIX = "/admin/v1"


def admin_router() -> APIRouter:
    return APIRouter(prefix=ADMIN_PREFIX, dependencies=[AdminAuth])


def require_tenant(engine: Engine, tenant_id: str) -> None:
    """404 for a tenant that does not exist, before anything is asked of it (called first in a route, so
    a malformed request is still refused first). The session is closed before the route waits on Kafka:
    held open, on SQLite, it would keep the gateway's database from other writers meanwhile."""
    with Session(engine) as session:
        try:
            store.get_tenant(session, tenant_id=tenant_id)
        except store.TenantNotFound as error:
            raise NotFoundException(detail=str(error)) from None
