"""SCIM 2.0 endpoints (RFC 7644). Each one: authenticate, translate, ask the owner, render."""

from __future__ import annotations

from typing import Annotated, TypeVar
from uuid import uuid4

from fastapi import APIRouter, Query, Request

from contracts.envelope import Message
from contracts.replies import CommandRejected
from contracts.topics import USERS_COMMANDS, USERS_QUERIES, resource_key
from contracts.users import CreateUser, GetUser, ListUsers, UserPage, UserReply
from services.gateway import translate
from services.gateway.body import read_json
from services.gateway.dependencies import RequesterDep, SettingsDep, TenantId
from services.gateway.errors import ScimProblem, ScimResponse, problem_for_rejection

router = APIRouter(prefix="/scim/v2")

Expected = TypeVar("Expected", bound=Message)


def _expect(reply: Message, expected: type[Expected]) -> Expected:
    if isinstance(reply, CommandRejected):
        raise problem_for_rejection(reply)
    if not isinstance(reply, expected):
        raise ScimProblem(500, f"Unexpected reply {reply.type_name()}; please retry.")
    return reply


def _base_url(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{router.prefix}"


def _user_response(reply: UserReply, request: Request, *, status: int = 200) -> ScimResponse:
    body = translate.user_body(reply.user, base_url=_base_url(request))
    headers = {"ETag": translate.etag(reply.user)}
    if status == 201:
        headers["Location"] = body["meta"]["location"]
    return ScimResponse(body, status_code=status, headers=headers)


@router.get("/Users")
async def list_users(
    request: Request,
    tenant: TenantId,
    requester: RequesterDep,
    settings: SettingsDep,
    filter: Annotated[str | None, Query()] = None,
    start_index: Annotated[str | None, Query(alias="startIndex")] = None,
    count: Annotated[str | None, Query()] = None,
) -> ScimResponse:
    start, size = translate.paging(start_index, count, max_page_size=settings.max_page_size)
    query = ListUsers(filter=filter or None, start_index=start, count=size)
    # A fresh key per query spreads one large tenant's reads over every partition.
    key = resource_key(tenant, uuid4().hex)
    reply = await requester.ask(query, tenant=tenant, topic=USERS_QUERIES, key=key)
    page = _expect(reply, UserPage)
    return ScimResponse(translate.list_body(page, base_url=_base_url(request)))


@router.post("/Users")
async def create_user(
    request: Request, tenant: TenantId, requester: RequesterDep, settings: SettingsDep
) -> ScimResponse:
    profile = translate.profile_from_scim(await read_json(request, limit=settings.max_body_bytes))
    user_id = str(uuid4())  # minted here so the command can be keyed by its resource
    command = CreateUser(user_id=user_id, profile=profile)
    reply = await requester.ask(
        command, tenant=tenant, topic=USERS_COMMANDS, key=resource_key(tenant, user_id)
    )
    return _user_response(_expect(reply, UserReply), request, status=201)


@router.get("/Users/{user_id}")
async def get_user(request: Request, user_id: str, tenant: TenantId, requester: RequesterDep) -> ScimResponse:
    reply = await requester.ask(
        GetUser(user_id=user_id), tenant=tenant, topic=USERS_QUERIES, key=resource_key(tenant, user_id)
    )
    return _user_response(_expect(reply, UserReply), request)
