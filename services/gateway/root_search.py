"""POST /.search at the root (RFC 7644 §3.4.3): one search over every resource type, Users then Groups.

Each owner evaluates the filter for its own resources. A filter naming attributes only one type has
(``userName``) is refused as invalidFilter by the other owner: that type then simply has no match, and
only a filter both refuse is answered 400. Paging runs over the concatenation, Users first.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi import APIRouter, Request

from contracts.envelope import Message
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.teams import TeamPage
from contracts.topics import TEAMS_QUERIES, USERS_QUERIES, resource_key
from contracts.users import ListUsers, UserPage
from services.gateway import listing, translate
from services.gateway.body import read_json
from services.gateway.correlator import Requester
from services.gateway.dependencies import RequesterDep, SettingsDep, TenantId
from services.gateway.errors import ScimResponse, problem_for_rejection
from services.gateway.group_translate import as_group_projection, group_list_body, list_groups
from services.gateway.scim_http import SCIM_PREFIX, base_url, expect
from services.gateway.translate import Projection

router = APIRouter(prefix=SCIM_PREFIX)


async def _ask(requester: Requester, message: Message, tenant: str, topic: str) -> Message:
    return await requester.ask(message, tenant=tenant, topic=topic, key=resource_key(tenant, uuid4().hex))


def _no_match(reply: Message) -> bool:
    return isinstance(reply, CommandRejected) and reply.reason == RejectionReason.INVALID_FILTER


def _both_refused(users_reply: Message, groups_reply: Message) -> None:
    if isinstance(users_reply, CommandRejected) and _no_match(users_reply) and _no_match(groups_reply):
        raise problem_for_rejection(users_reply)


async def _pages(
    requester: Requester, tenant: str, query: ListUsers, shown: Projection
) -> tuple[UserPage, TeamPage]:
    users_reply = await _ask(requester, query, tenant, USERS_QUERIES)
    users = UserPage(total_results=0, start_index=query.start_index, users=())
    if not _no_match(users_reply):
        users = expect(users_reply, UserPage)
    # The groups' window starts where the users end (global index total_users + 1).
    window = ListUsers(
        **query.model_dump(exclude={"start_index", "count"}),
        start_index=max(1, query.start_index - users.total_results),
        count=query.count - len(users.users),
    )
    groups_reply = await _ask(
        requester, list_groups(window, as_group_projection(shown)), tenant, TEAMS_QUERIES
    )
    _both_refused(users_reply, groups_reply)
    if _no_match(groups_reply):
        return users, TeamPage(total_results=0, start_index=window.start_index, teams=())
    return users, expect(groups_reply, TeamPage)


@router.post("/.search")
async def search_everything(
    request: Request, tenant: TenantId, requester: RequesterDep, settings: SettingsDep
) -> ScimResponse:
    body = await read_json(request, limit=settings.max_body_bytes)
    query, shown = listing.search_query(body, max_page_size=settings.max_page_size)
    users, groups = await _pages(requester, tenant, query, shown)
    users_body = translate.list_body(users, base_url=base_url(request), shown=shown)
    groups_body = group_list_body(groups, base_url=base_url(request), shown=as_group_projection(shown))
    resources: list[Any] = [*users_body.get("Resources", []), *groups_body.get("Resources", [])]
    totals = {
        "totalResults": users.total_results + groups.total_results,
        "startIndex": query.start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
    return ScimResponse(users_body | totals)
