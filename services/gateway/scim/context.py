"""What every SCIM route works with: the authenticated tenant (within its rate limit), the owners' clients,
the settings, and the request itself (its body, and the base URL links are rendered with); and the id in
the path, which must have the shape of an id Roster mints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from scim2_models import SCIMException

from contracts.ids import is_minted_id
from contracts.rendering import Record, location
from services.gateway import outcomes
from services.gateway.config import GatewaySettings
from services.gateway.http.auth import TenantId
from services.gateway.http.body import read_json
from services.gateway.http.dependencies import OwnersDep, SettingsDep
from services.gateway.http.errors import error_with_status
from services.gateway.http.responses import ScimResponse, base_url, resource_response
from services.gateway.http.turns import Turns
from services.gateway.owners import Owners

T = TypeVar("T")


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
        """The JSON body, at most ``limit`` bytes (by default the settings' cap). The userName or
        displayName it names goes to the activity log, even if the request is refused."""
        body = await read_json(self.request, limit=limit or self.settings.max_body_bytes)
        named = body.get("userName", body.get("displayName")) if isinstance(body, dict) else None
        if isinstance(named, str):
            setattr(self.request.state, outcomes.NAME_STATE, named)
        return body

    async def in_turn(self, work: Callable[[], T]) -> T:
        """This request's CPU-heavy work, in its turn and within the request's time (http/turns.py)."""
        turns: Turns = self.request.app.state.turns
        return await turns.run(work)

    def about(self, resource_id: str) -> str:
        """The id a new resource was given (its record in the activity log names it even if the create
        is refused); returns it."""
        setattr(self.request.state, outcomes.ID_STATE, resource_id)
        return resource_id

    def respond(
        self, body: dict[str, Any], record: Record, *, endpoint: str, created: bool = False
    ) -> ScimResponse:
        """The resource with its ``ETag``; when created, 201 with its ``Location`` (RFC 7644 §3.3)."""
        created_at = location(self.base_url, endpoint, record.id) if created else None
        setattr(self.request.state, outcomes.ID_STATE, record.id)
        named = body.get("userName", body.get("displayName"))
        if isinstance(named, str):  # as stored: the activity log names what Roster keeps
            setattr(self.request.state, outcomes.NAME_STATE, named)
        return resource_response(body, record, created_at=created_at)


async def _context(
    request: Request, tenant: TenantId, owners: OwnersDep, settings: SettingsDep
) -> ScimContext:
    return ScimContext(request, tenant, owners, settings)


Scim = Annotated[ScimContext, Depends(_context)]


def _minted(resource_id: str, kind: str) -> str:
    """Any other id names nothing (contracts/ids.py): 404 as the owner would answer, without asking it."""
    if not is_minted_id(resource_id):
        raise _not_found(kind, resource_id)
    return resource_id


def _not_found(kind: str, resource_id: str) -> SCIMException:
    return error_with_status(404, f'{kind} "{resource_id[:100]}" not found.')


async def _user_id(user_id: str, _scim: Scim) -> str:  # after the tenant's token and rate limit
    return _minted(user_id, "User")


async def _team_id(team_id: str, _scim: Scim) -> str:
    return _minted(team_id, "Group")


UserId = Annotated[str, Depends(_user_id)]
GroupId = Annotated[str, Depends(_team_id)]
