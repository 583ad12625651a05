"""SCIM 2.0 Group endpoints (RFC 7644 §3): each a command or query to the teams service, which owns teams.

Member ids are checked with the users service first (membership.py), so a team never refers to a user
the tenant does not have; membership then travels to the teams service as deltas.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from scim2_models import SCIMException

from contracts.ids import mint_id
from contracts.listing import MAX_INDEX
from contracts.teams import DeleteGroup, PushGroup, ReplaceGroup, TeamMember, TeamRecord
from services.gateway.http import etags
from services.gateway.http.etags import IfMatch, IfNoneMatch
from services.gateway.http.responses import (
    SCIM_MEDIA_TYPE,
    SCIM_PREFIX,
    ScimResponse,
    no_content,
    not_modified,
)
from services.gateway.membership import require_users
from services.gateway.scim.context import GroupId, Scim, ScimContext
from services.gateway.scim.groups.patching import added_member_ids, group_patch
from services.gateway.scim.groups.translate import (
    GroupInput,
    GroupProjection,
    group_body,
    group_from_scim,
    group_list_body,
    includes_members,
    member_items,
)
from services.gateway.scim.listing import SearchDep, refuse_non_post_searches, shown_by_query
from services.gateway.scim.patch_shapes import field
from services.gateway.streaming import chunks, json_array, object_with, streamed

router = APIRouter(prefix=SCIM_PREFIX)
Shown = Annotated[GroupProjection, Depends(shown_by_query(GroupProjection))]


def _asked(shown: GroupProjection) -> bool:
    return bool(shown.attributes or shown.excluded_attributes)


def _members_up_to(shown: GroupProjection) -> int:
    """Members in the reply only when the response shows them."""
    return MAX_INDEX if includes_members(shown) else 0


def _group_response(
    scim: ScimContext, team: TeamRecord, shown: GroupProjection, *, created: bool = False
) -> ScimResponse:
    body = group_body(team, base_url=scim.base_url, shown=shown)
    return scim.respond(body, team, endpoint="Groups", created=created)


async def _members_of_existing_group(scim: ScimContext, team_id: str, user_ids: Sequence[str]) -> None:
    """The member check for a write to ``team_id``; refused members of a group that does not exist
    answer 404 for the group (RFC 7644 §3.12: the resource comes first), not 400 for its members."""
    try:
        await require_users(scim.owners.users, scim.tenant, user_ids)
    except SCIMException:
        await scim.owners.teams.get(
            scim.tenant, team_id, members=False
        )  # raises 404 if there is no such group
        raise


async def _expected_version(
    scim: ScimContext, team_id: str, if_match: str | None, if_none_match: str | None
) -> int | None:
    resource = f'Group "{team_id}"'

    async def read() -> TeamRecord:
        return await scim.owners.teams.get(scim.tenant, team_id, members=False)

    return await etags.expected_version(if_match, if_none_match, resource=resource, read=read)


async def _group_body(scim: ScimContext) -> GroupInput:
    return group_from_scim(await scim.body(limit=scim.settings.max_group_body_bytes))


@router.get("/Groups")
@router.post("/Groups/.search")
async def list_groups(scim: Scim, search: SearchDep) -> ScimResponse:
    shown = search.shown(GroupProjection)
    page = await scim.owners.teams.list_groups(
        scim.tenant, search.parameters, members=includes_members(shown)
    )
    return ScimResponse(group_list_body(page, base_url=scim.base_url, shown=shown))


refuse_non_post_searches(router, "/Groups/.search")


@router.post("/Groups")
async def create_group(scim: Scim, shown: Shown) -> ScimResponse:
    group = await _group_body(scim)
    await require_users(scim.owners.users, scim.tenant, group.member_ids)
    team_id = scim.about(
        mint_id()
    )  # minted here so the command is keyed by its resource; a link answers another id
    command = PushGroup(
        team_id=team_id,
        display_name=group.display_name,
        external_id=group.external_id,
        member_ids=group.member_ids,
    )
    return _group_response(scim, await scim.owners.teams.write(scim.tenant, command), shown, created=True)


@router.get("/Groups/{team_id}", response_model=None)
async def get_group(
    team_id: GroupId, scim: Scim, shown: Shown, if_match: IfMatch = None, if_none_match: IfNoneMatch = None
) -> Response:
    members = includes_members(shown)
    team = await scim.owners.teams.get(scim.tenant, team_id, members=members)
    etags.require_match(if_match, team, resource=f'Group "{team_id}"')
    if etags.none_match(if_none_match, team):
        return not_modified(team)
    if members and team.members is None and team.member_count:
        return _streamed_group(scim, team, shown)
    return _group_response(scim, team, shown)


def _streamed_group(scim: ScimContext, team: TeamRecord, shown: GroupProjection) -> Response:
    """A group too large for one reply from the teams service: its members are read a page at a time
    while the body is written, so the gateway holds one page, never the whole group."""
    head = group_body(team, base_url=scim.base_url, shown=shown)

    def render(page: Sequence[TeamMember]) -> list[Any]:
        return member_items(team, page, base_url=scim.base_url, shown=shown)

    members = json_array(chunks(scim.owners.teams.members(scim.tenant, team.id), render))
    body = object_with(head, "members", members)
    return streamed(body, media_type=SCIM_MEDIA_TYPE, headers={"ETag": etags.etag(team)})


@router.put("/Groups/{team_id}")
async def replace_group(
    team_id: GroupId, scim: Scim, shown: Shown, if_match: IfMatch = None, if_none_match: IfNoneMatch = None
) -> ScimResponse:
    group = await _group_body(scim)
    await _members_of_existing_group(scim, team_id, group.member_ids)
    command = ReplaceGroup(
        team_id=team_id,
        display_name=group.display_name,
        external_id=group.external_id,
        member_ids=group.member_ids,
        expected_version=await _expected_version(scim, team_id, if_match, if_none_match),
        reply_members_up_to=_members_up_to(shown),
    )
    return _group_response(scim, await scim.owners.teams.write(scim.tenant, command), shown)


_PARSED_IN_TURN = 1_000  # operations: ~0.1 s of parsing at most below it


def _operations(body: object) -> int:
    operations = field(body, "operations") if isinstance(body, dict) else None
    return len(operations) if isinstance(operations, list) else 0


@router.patch("/Groups/{team_id}", response_model=None)
async def patch_group(
    team_id: GroupId, scim: Scim, shown: Shown, if_match: IfMatch = None, if_none_match: IfNoneMatch = None
) -> Response:
    # No read-modify-write: the operations travel as one command of deltas (docs/architecture.md §2).
    up_to = _members_up_to(shown) if _asked(shown) else scim.settings.group_patch_reply_max_members
    body = await scim.body(limit=scim.settings.max_group_body_bytes)
    # Off the event loop, which answers every tenant's requests and the liveness probe: a PATCH of
    # thousands of operations (up to the group body cap) is seconds of parsing. Such PATCHes take turns
    # (http/turns.py); one of a few operations never waits behind them.
    parse = partial(group_patch, body, team_id=team_id, reply_members_up_to=up_to)
    heavy = _operations(body) > _PARSED_IN_TURN
    command = await (scim.in_turn(parse) if heavy else asyncio.to_thread(parse))
    await _members_of_existing_group(scim, team_id, added_member_ids(command))
    expected = await _expected_version(scim, team_id, if_match, if_none_match)
    if expected is not None:
        command = command.model_copy(update={"expected_version": expected})
    team = await scim.owners.teams.write(scim.tenant, command)
    if team.members is None and not _asked(shown):
        # RFC 7644 §3.5.2 allows 204: listing a huge team per one-member change would defeat the deltas.
        return no_content(team)
    return _group_response(scim, team, shown)


@router.delete("/Groups/{team_id}", status_code=204, response_model=None)
async def delete_group(
    team_id: GroupId, scim: Scim, if_match: IfMatch = None, if_none_match: IfNoneMatch = None
) -> Response:
    expected = await _expected_version(scim, team_id, if_match, if_none_match)
    await scim.owners.teams.delete(scim.tenant, DeleteGroup(team_id=team_id, expected_version=expected))
    return Response(status_code=204)
