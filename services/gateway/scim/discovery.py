"""SCIM discovery endpoints (RFC 7644 §4, RFC 7643 §5-7): what Roster supports, told truthfully.

Every document is produced by scim2-models (``to_schema()``, ``ResourceType.from_resource``,
``ServiceProviderConfig``, ``ListResponse``), never written by hand. The published User schema then
drops the core attributes Roster does not store, rather than advertise what it would silently discard.

Roster's own User attributes form the ``RosterUser`` extension. scim2-models expresses several extensions
as a union in the subscript, ``User[EnterpriseUser | RosterUser]`` (``AdvertisedUser`` below); wrap one in
``Annotated[RosterUser, Required.true]`` to make it required, and reach one with ``user[RosterUser]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from scim2_models import (
    Attribute,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    ForbiddenException,
    ListResponse,
    Meta,
    NotFoundException,
    Patch,
    Required,
    Resource,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
    User,
)

from contracts.rendering import NOT_STORED
from contracts.scim import RosterUser, ScimGroup, ScimUser
from services.gateway.http.auth import TenantId
from services.gateway.http.dependencies import SettingsDep
from services.gateway.http.errors import error_with_status
from services.gateway.http.responses import SCIM_PREFIX, ScimResponse, base_url
from services.gateway.scim.listing import query_parameters

BULK_MAX_OPERATIONS = 0  # bulk is not supported; RFC 7643 §5 still requires the figure
_CACHED_BASE_URLS = 16  # the base URL comes from the Host header: bound what it can make us keep

router = APIRouter(prefix=SCIM_PREFIX)
Located = TypeVar("Located", bound=Resource[Any])


AdvertisedUser = ScimUser  # what the discovery documents describe is exactly what the gateway parses

USER_RESOURCE_TYPE = ResourceType.from_resource(AdvertisedUser).model_copy(
    update={"description": "User Account"}
)
GROUP_RESOURCE_TYPE = ResourceType.from_resource(ScimGroup).model_copy(
    update={"description": "Team pushed from, or linked to, a group of the identity provider"}
)


def _without_unstored(schema: Schema) -> Schema:
    """The published User schema leaves out what Roster would silently discard (contracts/rendering.py)."""
    kept = [attribute for attribute in schema.attributes or [] if attribute.name not in NOT_STORED]
    return schema.model_copy(update={"attributes": kept})


def _manager_reference_optional(schema: Schema) -> Schema:
    """scim2-models marks manager.value and manager.$ref required; RFC 7643 §8.7.1 does not, and
    identity providers (Entra ID, Okta) send the manager without a ``$ref``, which Roster accepts."""

    def relaxed(attribute: Attribute) -> Attribute:
        if attribute.name != "manager":
            return attribute
        subs = [sub.model_copy(update={"required": Required.false}) for sub in attribute.sub_attributes or []]
        return attribute.model_copy(update={"sub_attributes": subs})

    return schema.model_copy(update={"attributes": [relaxed(a) for a in schema.attributes or []]})


def _group_as_served(schema: Schema) -> Schema:
    """A team's members are users: Roster refuses nested groups, so it does not advertise them. Nor
    ``display``: RFC 7643 §4.2 does not define it, and Roster keeps no name an IdP sends for a member.
    And ``displayName`` is unique in a tenant, compared case-insensitively (409 ``uniqueness``; Okta
    links a pushed group to the team of that name): advertised so, not RFC 7643 §8.7.1's ``none``."""

    def users_only(sub: Attribute) -> Attribute:
        update: dict[str, Any] = {}
        if sub.reference_types:
            update["reference_types"] = ["User"]
        if sub.canonical_values:
            update["canonical_values"] = ["User"]
        return sub.model_copy(update=update)

    def restricted(attribute: Attribute) -> Attribute:
        if attribute.name == "displayName":
            return attribute.model_copy(update={"uniqueness": Uniqueness.server, "case_exact": False})
        if attribute.name != "members":
            return attribute
        subs = [users_only(sub) for sub in attribute.sub_attributes or [] if sub.name != "display"]
        return attribute.model_copy(update={"sub_attributes": subs})

    return schema.model_copy(update={"attributes": [restricted(a) for a in schema.attributes or []]})


SCHEMAS: tuple[Schema, ...] = (
    _without_unstored(User.to_schema()),
    _manager_reference_optional(EnterpriseUser.to_schema()),
    RosterUser.to_schema(),
    _group_as_served(ScimGroup.to_schema()),
)
RESOURCE_TYPES: tuple[ResourceType, ...] = (USER_RESOURCE_TYPE, GROUP_RESOURCE_TYPE)


@dataclass(frozen=True)
class _Documents:
    """One discovery collection, dumped for one base URL: the ListResponse and each member by id."""

    listing: dict[str, Any]
    by_id: dict[str, dict[str, Any]]


def _dump(model: Resource[Any] | ListResponse[Schema] | ListResponse[ResourceType]) -> dict[str, Any]:
    return model.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _located(resource: Located, *, location: str) -> Located:
    return resource.model_copy(
        update={"meta": Meta(resource_type=type(resource).__name__, location=location)}
    )


@lru_cache(maxsize=_CACHED_BASE_URLS)
def _schema_documents(base_url: str) -> _Documents:
    located = [_located(s, location=f"{base_url}/Schemas/{s.id}") for s in SCHEMAS]
    listing = ListResponse[Schema](
        total_results=len(located), start_index=1, items_per_page=len(located), resources=located
    )
    return _Documents(_dump(listing), {str(s.id).casefold(): _dump(s) for s in located})


@lru_cache(maxsize=_CACHED_BASE_URLS)
def _resource_type_documents(base_url: str) -> _Documents:
    located = [_located(t, location=f"{base_url}/ResourceTypes/{t.id}") for t in RESOURCE_TYPES]
    listing = ListResponse[ResourceType](
        total_results=len(located), start_index=1, items_per_page=len(located), resources=located
    )
    return _Documents(_dump(listing), {str(t.id).casefold(): _dump(t) for t in located})


@lru_cache(maxsize=_CACHED_BASE_URLS)
def _config_document(base_url: str, *, max_results: int, max_payload_size: int) -> dict[str, Any]:
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=BULK_MAX_OPERATIONS, max_payload_size=max_payload_size),
        filter=Filter(supported=True, max_results=max_results),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description="A per-tenant SCIM token issued by the Roster admin CLI (roster-admin),"
                " sent as 'Authorization: Bearer <token>'.",
                primary=True,
            )
        ],
    )
    return _dump(_located(config, location=f"{base_url}/ServiceProviderConfig"))


def _refuse_filter(request: Request) -> None:
    """RFC 7644 §4: a filter on a discovery endpoint SHOULD be answered with 403."""
    if "filter" in query_parameters(request):
        raise ForbiddenException(
            detail="Discovery endpoints do not support filtering; omit the filter parameter."
        )


def _one(documents: _Documents, resource_id: str, *, kind: str) -> ScimResponse:
    body = documents.by_id.get(resource_id.casefold())
    if body is None:
        known = ", ".join(document["id"] for document in documents.by_id.values())
        raise NotFoundException(detail=f"No {kind} {resource_id!r}; this service publishes: {known}.")
    return ScimResponse(body, headers={"Content-Location": body["meta"]["location"]})


@router.get("/ServiceProviderConfig")
async def service_provider_config(request: Request, _tenant: TenantId, settings: SettingsDep) -> ScimResponse:
    _refuse_filter(request)
    body = _config_document(
        base_url(request), max_results=settings.max_page_size, max_payload_size=settings.max_body_bytes
    )
    return ScimResponse(body, headers={"Content-Location": body["meta"]["location"]})


@router.get("/Schemas")
async def schemas(request: Request, _tenant: TenantId) -> ScimResponse:
    _refuse_filter(request)
    return ScimResponse(_schema_documents(base_url(request)).listing)


@router.get("/Schemas/{schema_id}")
async def schema(request: Request, schema_id: str, _tenant: TenantId) -> ScimResponse:
    _refuse_filter(request)
    return _one(_schema_documents(base_url(request)), schema_id, kind="schema")


@router.get("/ResourceTypes")
async def resource_types(request: Request, _tenant: TenantId) -> ScimResponse:
    _refuse_filter(request)
    return ScimResponse(_resource_type_documents(base_url(request)).listing)


@router.get("/ResourceTypes/{resource_type_id}")
async def resource_type(request: Request, resource_type_id: str, _tenant: TenantId) -> ScimResponse:
    _refuse_filter(request)
    return _one(_resource_type_documents(base_url(request)), resource_type_id, kind="resource type")


# Left out of the OpenAPI document: one handler for five methods would share one operation id there.
@router.api_route("/Me", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def me(_tenant: TenantId) -> None:
    """RFC 7644 §3.11: a service provider without ``/Me`` SHOULD answer 501."""
    raise error_with_status(
        501,
        "Roster does not support /Me: a SCIM token stands for a tenant's identity provider, not for a "
        "user (RFC 7644 §3.11).",
    )


@router.post("/Bulk", include_in_schema=False)
async def bulk(_tenant: TenantId) -> None:
    """Bulk is advertised as unsupported (``ServiceProviderConfig``); 501 says so (RFC 7644 §3.12)."""
    raise error_with_status(
        501,
        "Roster does not support /Bulk (ServiceProviderConfig: bulk.supported is false): send each "
        "operation as a request of its own.",
    )
