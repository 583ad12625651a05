"""SCIM 2.0 Group endpoints (RFC 7644 §3): each a command or query to the teams service, which owns teams.

Member ids are checked with the users service first (member_check), so a team never refers to a user
the tenant does not have; membership then travels to the teams service as deltas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from contracts.envelope import Message
from contracts.replies import Deleted
from contracts.teams import (
    DeleteGroup,
    GetTeam,
    PushGroup,
    ReplaceGroup,
    TeamPage,
    TeamRecord,
    TeamReply,
)
from contracts.topics import TEAMS_COMMANDS, TEAMS_QUERIES, resource_key
from contracts.users import MAX_INDEX, ListUsers
from services.gateway import etags, listing
from services.gateway.body import read_json
from services.gateway.correlator import Requester
from services.gateway.dependencies import ListQuery, RequesterDep, SettingsDep, TenantId
from services.gateway.errors import ScimProblem, ScimResponse
from services.gateway.group_patching import added_member_ids, group_patch
from services.gateway.group_translate import (
    GroupProjection,
    as_group_projection,
    group_body,
    group_from_scim,
    group_list_body,
    group_projection,
    includes_members,
    list_groups,
)
from services.gateway.member_check import require_users
from services.gateway.scim_http import SCIM_PREFIX, base_url, expect

router = APIRouter(prefix=SCIM_PREFIX)


def _shown(
    attributes: Annotated[str | None, Query(alias="attributes")] = None,
    excluded_attributes: Annotated[str | None, Query(alias="excludedAttributes")] = None,
) -> GroupProjection:
    """RFC 7644 §3.9, accepted by every endpoint that returns groups."""
    return group_projection(attributes, excluded_attributes)


Shown = Annotated[GroupProjection, Depends(_shown)]


def _asked(shown: GroupProjection) -> bool:
    return bool(shown.attributes or shown.excluded_attributes)


def _members_up_to(shown: GroupProjection) -> int:
    """Members in the reply only when the response shows them."""
    return MAX_INDEX if includes_members(shown) else 0


def _group_response(
    team: TeamRecord, request: Request, shown: GroupProjection, *, status: int = 200
) -> ScimResponse:
    body = group_body(team, base_url=base_url(request), shown=shown)
    headers = {"ETag": etags.etag(team)}
    if status == 201:
        headers["Location"] = f"{base_url(request)}/Groups/{team.id}"
    return ScimResponse(body, status_code=status, headers=headers)


async def _command(requester: Requester, message: Message, tenant: str, team_id: str) -> Message:
    return await requester.ask(
        message, tenant=tenant, topic=TEAMS_COMMANDS, key=resource_key(tenant, team_id)
    )


async def _query(requester: Requester, message: Message, tenant: str) -> Message:
    # A fresh key per query spreads one large tenant's reads over every partition.
    return await requester.ask(
        message, tenant=tenant, topic=TEAMS_QUERIES, key=resource_key(tenant, uuid4().hex)
    )


async def _read(requester: Requester, tenant: str, team_id: str, *, members: bool) -> TeamRecord:
    reply = await _query(requester, GetTeam(team_id=team_id, include_members=members), tenant)
    return expect(reply, TeamReply).team


async def _members_of_existing_group(
    requester: Requester, tenant: str, team_id: str, user_ids: Sequence[str]
) -> None:
    """The member check for a write to ``team_id``; refused members of a group that does not exist
    answer 404 for the group (RFC 7644 §3.12: the resource comes first), not 400 for its members."""
    try:
        await require_users(requester, tenant, user_ids)
    except ScimProblem:
        await _read(requester, tenant, team_id, members=False)  # raises 404 if there is no such group
        raise


async def _expected_version(
    requester: Requester, tenant: str, team_id: str, if_match: str | None
) -> int | None:
    return await etags.expected_version(
        if_match, resource=f'Group "{team_id}"', read=lambda: _read(requester, tenant, team_id, members=False)
    )


async def _list(
    request: Request, requester: RequesterDep, tenant: str, query: ListUsers, shown: GroupProjection
) -> ScimResponse:
    reply = await _query(requester, list_groups(query, shown), tenant)
    page = expect(reply, TeamPage)
    return ScimResponse(group_list_body(page, base_url=base_url(request), shown=shown))


@router.get("/Groups")
async def list_groups_route(
    request: Request,
    tenant: TenantId,
    requester: RequesterDep,
    shown: Shown,
    query: ListQuery,
) -> ScimResponse:
    return await _list(request, requester, tenant, query, shown)


@router.post("/Groups/.search")
async def search_groups(
    request: Request, tenant: TenantId, requester: RequesterDep, settings: SettingsDep
) -> ScimResponse:
    body = await read_json(request, limit=settings.max_body_bytes)
    query, shown = listing.search_query(body, max_page_size=settings.max_page_size)
    return await _list(request, requester, tenant, query, as_group_projection(shown))


@router.post("/Groups")
async def create_group(
    request: Request, tenant: TenantId, requester: RequesterDep, settings: SettingsDep, shown: Shown
) -> ScimResponse:
    group = group_from_scim(await read_json(request, limit=settings.max_group_body_bytes))
    await require_users(requester, tenant, group.member_ids)
    team_id = str(uuid4())  # minted here so the command is keyed by its resource; a link answers another id
    command = PushGroup(
        team_id=team_id,
        display_name=group.display_name,
        external_id=group.external_id,
        member_ids=group.member_ids,
    )
    reply = await _command(requester, command, tenant, team_id)
    return _group_response(expect(reply, TeamReply).team, request, shown, status=201)


@router.get("/Groups/{team_id}", response_model=None)
async def get_group(
    request: Request,
    team_id: str,
    tenant: TenantId,
    requester: RequesterDep,
    shown: Shown,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    team = await _read(requester, tenant, team_id, members=includes_members(shown))
    if etags.none_match(if_none_match, team):
        return Response(status_code=304, headers={"ETag": etags.etag(team)})
    return _group_response(team, request, shown)


@router.put("/Groups/{team_id}")
async def replace_group(
    request: Request,
    team_id: str,
    tenant: TenantId,
    requester: RequesterDep,
    settings: SettingsDep,
    shown: Shown,
    if_match: Annotated[str | None, Header()] = None,
) -> ScimResponse:
    group = group_from_scim(await read_json(request, limit=settings.max_group_body_bytes))
    await _members_of_existing_group(requester, tenant, team_id, group.member_ids)
    command = ReplaceGroup(
        team_id=team_id,
        display_name=group.display_name,
        external_id=group.external_id,
        member_ids=group.member_ids,
        expected_version=await _expected_version(requester, tenant, team_id, if_match),
        reply_members_up_to=_members_up_to(shown),
    )
    reply = await _command(requester, command, tenant, team_id)
    return _group_response(expect(reply, TeamReply).team, request, shown)


@router.patch("/Groups/{team_id}", response_model=None)
async def patch_group(
    request: Request,
    team_id: str,
    tenant: TenantId,
    requester: RequesterDep,
    settings: SettingsDep,
    shown: Shown,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    # No read-modify-write: the operations travel as one command of deltas (architecture.md §2).
    up_to = _members_up_to(shown) if _asked(shown) else settings.group_patch_reply_max_members
    body = await read_json(request, limit=settings.max_group_body_bytes)
    command = group_patch(body, team_id=team_id, reply_members_up_to=up_to)
    await _members_of_existing_group(requester, tenant, team_id, added_member_ids(command))
    expected = await _expected_version(requester, tenant, team_id, if_match)
    if expected is not None:
        command = command.model_copy(update={"expected_version": expected})
    team = expect(await _command(requester, command, tenant, team_id), TeamReply).team
    if team.members is None and not _asked(shown):
        # RFC 7644 §3.5.2 allows 204: listing a huge team per one-member change would defeat the deltas.
        return Response(status_code=204, headers={"ETag": etags.etag(team)})
    return _group_response(team, request, shown)


@router.delete("/Groups/{team_id}", status_code=204, response_model=None)
async def delete_group(
    team_id: str, tenant: TenantId, requester: RequesterDep, if_match: Annotated[str | None, Header()] = None
) -> Response:
    expected = await _expected_version(requester, tenant, team_id, if_match)
    command = DeleteGroup(team_id=team_id, expected_version=expected)
    expect(await _command(requester, command, tenant, team_id), Deleted)
    return Response(status_code=204)
