"""What every admin route requires: the admin credential (never a tenant's SCIM token) and, for the
routes about one tenant, a tenant that exists. Also what the admin API's OpenAPI document says of them:
the bearer scheme, and every error as a SCIM Error (RFC 7644 §3.12)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response, Security
from fastapi.openapi.utils import get_openapi
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict
from scim2_models import Error, NotFoundException
from sqlalchemy import Engine

from servicekit.db import read_session
from services.gateway import store
from services.gateway.http.auth import authenticate_admin
from services.gateway.http.body import JsonBodyRoute
from services.gateway.http.responses import SCIM_MEDIA_TYPE

ADMIN_PREFIX = "/admin/v1"
_ERROR_SCHEMA = "#/components/schemas/Error"
# Declares the scheme in the document only; the credential itself is checked by AdminRoute.
_ADMIN_BEARER = HTTPBearer(auto_error=False, scheme_name="adminToken", description="ROSTER_ADMIN_TOKEN")
_ERRORS = {
    400: "The request is malformed (invalidSyntax) or a value is invalid (invalidValue).",
    401: "The admin credential is missing or wrong.",
    404: "No such tenant, team, user or dead letter.",
    405: "The path does not take this method; Allow lists those it takes.",
    409: "The name is taken (uniqueness), or the dead letter was already replayed or discarded.",
    413: "The body is larger than the gateway accepts.",
    415: "The body is not application/json (or application/scim+json) in UTF-8.",
    502: "The owning service answered with an error.",
    503: "The owning service did not answer in time; retry after Retry-After seconds.",
}


class AdminBody(BaseModel):
    """An admin request body: a field it does not take is refused (400 naming it), not ignored, so a
    script sending ``{"name": …, "seats": 50}`` learns that no seat limit was set."""

    model_config = ConfigDict(extra="forbid")


class AdminRoute(JsonBodyRoute):
    """Every admin route's one credential check, made before the body is read, so a caller without it
    is answered 401 whatever its body (malformed, too large, of another media type), as on the SCIM
    routes; a dependency would run only after FastAPI read and judged the body."""

    def get_route_handler(self) -> Any:
        handle = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            authenticate_admin(request.app.state.settings, request.headers.get("authorization"))
            response: Response = await handle(request)
            return response

        return authenticated


def admin_router() -> APIRouter:
    responses: dict[int | str, dict[str, Any]] = {
        status: {"description": text, "content": {SCIM_MEDIA_TYPE: {"schema": {"$ref": _ERROR_SCHEMA}}}}
        for status, text in _ERRORS.items()
    }
    return APIRouter(
        prefix=ADMIN_PREFIX,
        dependencies=[Security(_ADMIN_BEARER)],
        route_class=AdminRoute,
        responses=responses,
    )


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with the SCIM Error schema the error responses refer to, and without the 422
    FastAPI lists for every route: a request FastAPI refuses is answered 400 (http/errors.py)."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, routes=app.routes)
        for operation in (op for item in document["paths"].values() for op in item.values()):
            operation.get("responses", {}).pop("422", None)
        error_schema = Error.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        schemas.update(error_schema.pop("$defs", {}))
        # On the wire ``status`` is a string (RFC 7644 §3.12), as scim2-models writes it.
        error_schema["properties"]["status"] = {"type": "string", "description": "The HTTP status code."}
        schemas["Error"] = error_schema
        app.openapi_schema = document
    return app.openapi_schema


def require_tenant(engine: Engine, tenant_id: str) -> None:
    """404 for a tenant that does not exist, before anything is asked of it (called first in a route, so
    a malformed request is still refused first). A read transaction: called on the event loop, it must
    never wait for SQLite's write lock (a write transaction's ``BEGIN IMMEDIATE`` would, up to the busy
    timeout, stalling every request of the gateway meanwhile)."""
    with read_session(engine) as session:
        try:
            store.get_tenant(session, tenant_id=tenant_id)
        except store.TenantNotFound as error:
            raise NotFoundException(detail=str(error)) from None
