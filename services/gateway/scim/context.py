"""What every SCIM route works with: the authenticated tenant (within its rate limit), the owners' clients,
the settings, and the request itself (its body, and the base URL links are rendered with)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from contracts.rendering import Record, location
from services.gateway.config import GatewaySettings
from services.gateway.http.auth import TenantId
from services.gateway.http.body import read_json
from services.gateway.http.dependencies import OwnersDep, SettingsDep
from services.gateway.http.responses import ScimResponse, base_url, resource_response
from services.gateway.owners import Owners


@dataclass(frozen=True)
class ScimContext:
    request: Request
    tenant: str
    owners: Owners
    settings: GatewaySettings

    @property
    def base_url(self) -> str:
        return base_url(self.request)

    async def body(self, *, limit: int | None = None) -> Any:
        """The JSON body, at most ``limit`` bytes (by default the settings' cap)."""
        return await read_json(self.request, limit=limit or self.settings.max_body_bytes)

    def respond(
        self, body: dict[str, Any], record: Record, *, endpoint: str, created: bool = False
    ) -> ScimResponse:
        """The resource with its ``ETag``; when created, 201 with its ``Location`` (RFC 7644 §3.3)."""
        created_at = location(self.base_url, endpoint, record.id) if created else None
        return resource_response(body, record, created_at=created_at)


def _context(request: Request, tenant: TenantId, owners: OwnersDep, settings: SettingsDep) -> ScimContext:
    return ScimContext(request, tenant, owners, settings)


Scim = Annotated[ScimContext, Depends(_context)]
