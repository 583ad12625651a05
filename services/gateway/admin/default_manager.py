"""Admin API for the tenant's default manager: who users without a (provisioned, active) manager get.
The users service owns the choice; the admin's is refused unless the user has role manager or above."""

from __future__ import annotations

from pydantic import Field

from contracts.users import DefaultManager
from services.gateway.admin.access import AdminBody, admin_router, require_tenant
from services.gateway.http.dependencies import EngineDep, OwnersDep

router = admin_router()


class DefaultManagerChoice(AdminBody):
    user_id: str | None = Field(description="The user to make default manager; null clears the choice.")


@router.get("/tenants/{tenant_id}/default-manager")
async def get_default_manager(tenant_id: str, engine: EngineDep, owners: OwnersDep) -> DefaultManager:
    require_tenant(engine, tenant_id)
    return await owners.users.default_manager(tenant_id)


@router.put("/tenants/{tenant_id}/default-manager")
async def set_default_manager(
    tenant_id: str, engine: EngineDep, body: DefaultManagerChoice, owners: OwnersDep
) -> DefaultManager:
    require_tenant(engine, tenant_id)
    return await owners.users.choose_default_manager(tenant_id, body.user_id)
