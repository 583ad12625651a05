"""POST /.search at the root (RFC 7644 §3.4.3): one search over every resource type, Users then Groups.

Each owner evaluates the filter for its own resources. A filter naming attributes only one type has
(``userName``) is refused as invalidFilter by the other owner: that type then simply has no match, and
only a filter both refuse is answered 400. Paging runs over the concatenation, Users first. ``sortBy``
is refused: the two types share no order (a Group has no ``userName``), and Users sorted then Groups
sorted is not the one sorted list RFC 7644 §3.4.2.3 promises.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from fastapi import APIRouter
from scim2_models import InvalidValueException

from contracts.listing import ListParameters
from contracts.rejections import RejectionReason
from contracts.teams import TeamPage
from contracts.users import UserPage
from services.gateway.http.errors import Refused
from services.gateway.http.responses import SCIM_PREFIX, ScimResponse
from services.gateway.owners import Owners
from services.gateway.scim.context import Scim
from services.gateway.scim.groups.translate import GroupProjection, group_list_body, includes_members
from services.gateway.scim.listing import SearchDep
from services.gateway.scim.users.translate import UserProjection, list_body

router = APIRouter(prefix=SCIM_PREFIX)
ROOT_SORT_REFUSAL = (
    "sortBy is not supported on the root /.search, which lists Users and Groups together;"
    " sort with /Users/.search or /Groups/.search."
)
Page = TypeVar("Page", UserPage, TeamPage)


async def _unless_refused_filter(asked: Awaitable[Page], no_match: Page) -> tuple[Page, Refused | None]:
    """The page, or no match with the refusal when the owner refused the filter (invalidFilter)."""
    try:
        return await asked, None
    except Refused as refused:
        if refused.reason != RejectionReason.INVALID_FILTER:
            raise
        return no_match, refused


async def _pages(
    owners: Owners, tenant: str, query: ListParameters, *, members: bool
) -> tuple[UserPage, TeamPage]:
    if query.sort_by is not None:
        raise InvalidValueException(detail=ROOT_SORT_REFUSAL)
    users, users_refusal = await _unless_refused_filter(
        owners.users.list(tenant, query), UserPage(total_results=0, start_index=query.start_index, users=())
    )
    # The groups' window starts where the users end (global index total_users + 1).
    window = query.model_copy(
        update={
            "start_index": max(1, query.start_index - users.total_results),
            "count": query.count - len(users.users),
        }
    )
    groups, groups_refusal = await _unless_refused_filter(
        owners.teams.list_groups(tenant, window, members=members),
        TeamPage(total_results=0, start_index=window.start_index, teams=()),
    )
    if users_refusal is not None and groups_refusal is not None:
        raise users_refusal
    return users, groups


@router.post("/.search")
async def search_everything(scim: Scim, search: SearchDep) -> ScimResponse:
    users_shown, groups_shown = search.shown(UserProjection), search.shown(GroupProjection)
    members = includes_members(groups_shown)
    users, groups = await _pages(scim.owners, scim.tenant, search.parameters, members=members)
    users_body = list_body(users, base_url=scim.base_url, shown=users_shown)
    groups_body = group_list_body(groups, base_url=scim.base_url, shown=groups_shown)
    resources: list[Any] = [*users_body.get("Resources", []), *groups_body.get("Resources", [])]
    totals = {
        "totalResults": users.total_results + groups.total_results,
        "startIndex": search.parameters.start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
    return ScimResponse(users_body | totals)
