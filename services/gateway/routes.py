"""SCIM 2.0 User endpoints (RFC 7644 §3). Each: authenticate, translate, ask the owner, render."""

from __future__ import annotations

from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from contracts.envelope import Message
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected, Deleted
from contracts.topics import USERS_COMMANDS, USERS_QUERIES, resource_key
from contracts.users import (
    CreateUser,
    DeleteUser,
    GetUser,
    ListUsers,
    ReplaceUser,
    UserPage,
    UserRecord,
    UserReply,
)
from services.gateway import etags, listing, patching, translate
from services.gateway.body import read_json
from services.gateway.correlator import Requester
from services.gateway.dependencies import ListQuery, RequesterDep, SettingsDep, TenantId
from services.gateway.errors import RETRY_AFTER_SECONDS, ScimProblem, ScimResponse
from services.gateway.scim_http import SCIM_PREFIX, base_url, expect

router = APIRouter(prefix=SCIM_PREFIX)


def _shown(
    attributes: Annotated[str | None, Query(alias="attributes")] = None,
    excluded_attributes: Annotated[str | None, Query(alias="excludedAttributes")] = None,
) -> translate.Projection:
    """RFC 7644 §3.9, accepted by every endpoint that returns users."""
    return translate.projection(attributes, excluded_attributes)


Shown = Annotated[translate.Projection, Depends(_shown)]
_PATCH_ATTEMPTS = 3


def _user_response(
    user: UserRecord, request: Request, shown: translate.Projection | None = None, *, status: int = 200
) -> ScimResponse:
    body = translate.user_body(user, base_url=base_url(request), shown=shown)
    headers = {"ETag": etags.etag(user)}
    if status == 201:
        headers["Location"] = f"{base_url(request)}/Users/{user.id}"
    return ScimResponse(body, status_code=status, headers=headers)


async def _ask_users(
    requester: Requester, message: Message, tenant: str, user_id: str, topic: str
) -> Message:
    return await requester.ask(message, tenant=tenant, topic=topic, key=resource_key(tenant, user_id))


async def _read(requester: Requester, tenant: str, user_id: str) -> UserRecord:
    reply = await _ask_users(requester, GetUser(user_id=user_id), tenant, user_id, USERS_QUERIES)
    return expect(reply, UserReply).user


async def _list(
    request: Request, requester: Requester, tenant: str, query: ListUsers, shown: translate.Projection
) -> ScimResponse:
    # A fresh key per query spreads one large tenant's reads over every partition.
    reply = await _ask_users(requester, query, tenant, uuid4().hex, USERS_QUERIES)
    page = expect(reply, UserPage)
    return ScimResponse(translate.list_body(page, base_url=base_url(request), shown=shown))


@router.get("/Users")
async def list_users(
    request: Request,
    tenant: TenantId,
    requester: RequesterDep,
    shown: Shown,
    query: ListQuery,
) -> ScimResponse:
    return await _list(request, requester, tenant, query, shown)


@router.post("/Users/.search")  # the root /.search, over Users and Groups, is root_search.py
async def search_users(
    request: Request, tenant: TenantId, requester: RequesterDep, settings: SettingsDep
) -> ScimResponse:
    body = await read_json(request, limit=settings.max_body_bytes)
    query, shown = listing.search_query(body, max_page_size=settings.max_page_size)
    return await _list(request, requester, tenant, query, shown)


@router.post("/Users")
async def create_user(
    request: Request,
    tenant: TenantId,
    requester: RequesterDep,
    settings: SettingsDep,
    shown: Shown,
) -> ScimResponse:
    profile = translate.profile_from_scim(await read_json(request, limit=settings.max_body_bytes))
    user_id = str(uuid4())  # minted here so the command can be keyed by its resource
    reply = await _ask_users(
        requester, CreateUser(user_id=user_id, profile=profile), tenant, user_id, USERS_COMMANDS
    )
    return _user_response(expect(reply, UserReply).user, request, shown, status=201)


@router.get("/Users/{user_id}", response_model=None)
async def get_user(
    request: Request,
    user_id: str,
    tenant: TenantId,
    requester: RequesterDep,
    shown: Shown,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    user = await _read(requester, tenant, user_id)
    if etags.none_match(if_none_match, user):
        return Response(status_code=304, headers={"ETag": etags.etag(user)})
    return _user_response(user, request, shown)


async def _expected_version(
    requester: Requester, tenant: str, user_id: str, if_match: str | None
) -> int | None:
    return await etags.expected_version(
        if_match, resource=f'User "{user_id}"', read=lambda: _read(requester, tenant, user_id)
    )


@router.put("/Users/{user_id}")
async def replace_user(
    request: Request,
    user_id: str,
    tenant: TenantId,
    requester: RequesterDep,
    settings: SettingsDep,
    shown: Shown,
    if_match: Annotated[str | None, Header()] = None,
) -> ScimResponse:
    profile = translate.profile_from_scim(await read_json(request, limit=settings.max_body_bytes))
    expected = await _expected_version(requester, tenant, user_id, if_match)
    command = ReplaceUser(user_id=user_id, profile=profile, expected_version=expected)
    reply = await _ask_users(requester, command, tenant, user_id, USERS_COMMANDS)
    return _user_response(expect(reply, UserReply).user, request, shown)


async def _patch_once(
    requester: Requester, tenant: str, user_id: str, patch: patching.UserPatch, if_match: str | None
) -> Message:
    current = await _read(requester, tenant, user_id)
    allowed = etags.versions_in(if_match)
    if allowed is not None and current.version not in allowed:
        raise etags.stale(f'User "{user_id}"', current.version)
    profile = patching.patched_profile(current, patch)
    command = ReplaceUser(user_id=user_id, profile=profile, expected_version=current.version)
    return await _ask_users(requester, command, tenant, user_id, USERS_COMMANDS)


@router.patch("/Users/{user_id}")
async def patch_user(
    request: Request,
    user_id: str,
    tenant: TenantId,
    requester: RequesterDep,
    settings: SettingsDep,
    shown: Shown,
    if_match: Annotated[str | None, Header()] = None,
) -> ScimResponse:
    patch = patching.parse_patch(await read_json(request, limit=settings.max_body_bytes))
    for _ in range(_PATCH_ATTEMPTS):
        reply = await _patch_once(requester, tenant, user_id, patch, if_match)
        lost_race = isinstance(reply, CommandRejected) and reply.reason == RejectionReason.VERSION_MISMATCH
        if not lost_race or if_match is not None:
            break  # without If-Match, a concurrent change is simply re-read and the patch re-applied
    else:  # RFC 7644 §3.14 keeps 412 for the client's own precondition: this is contention
        detail = f'User "{user_id}" is being changed concurrently; retry the PATCH shortly.'
        raise ScimProblem(503, detail, headers={"Retry-After": RETRY_AFTER_SECONDS})
    # RFC 7644 §3.5.2: 200 with the resource is what both Okta and Entra accept.
    return _user_response(expect(reply, UserReply).user, request, shown)


@router.delete("/Users/{user_id}", status_code=204, response_model=None)
async def delete_user(
    user_id: str, tenant: TenantId, requester: RequesterDep, if_match: Annotated[str | None, Header()] = None
) -> Response:
    expected = await _expected_version(requester, tenant, user_id, if_match)
    command = DeleteUser(user_id=user_id, expected_version=expected)
    expect(await _ask_users(requester, command, tenant, user_id, USERS_COMMANDS), Deleted)
    return Response(status_code=204)
