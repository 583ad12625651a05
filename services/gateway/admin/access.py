"""What every admin route requires: the admin credential (never a tenant's SCIM token) and, for the
routes about one tenant, a tenant that exists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from scim2_models import NotFoundException
from sqlmodel import Session

from services.gateway import store
from services.gateway.http.auth import AdminAuth
from services.gateway.http.dependencies import EngineDep

ADMIN_PREFIX = "/admin/v1"


def admin_router() -> APIRouter:
    return APIRouter(prefix=ADMIN_PREFIX, dependencies=[AdminAuth])


def _known_tenant(tenant_id: str, engine: EngineDep) -> str:
    """404 for a tenant that does not exist, before anything is asked of it. The session is closed
    before the route waits on Kafka (on SQLite an open session would hold the database meanwhile)."""
    with Session(engine) as session:
        try:
            store.get_tenant(session, tenant_id=tenant_id)
        except store.TenantNotFound as error:
            raise NotFoundException(detail=str(error)) from None
    return tenant_id


KnownTenant = Annotated[str, Depends(_known_tenant)]
