"""Admin API for reading a tenant's people: users with their resolved manager, and the manager tree.
Both ask the users service the same ``ListUsers`` query SCIM's ``GET /Users`` asks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from contracts.listing import MAX_INDEX, ListParameters
from contracts.users import ManagerVia, UserRecord
from services.gateway.admin.access import admin_router, require_tenant
from services.gateway.admin.org_chart import org_chart
from services.gateway.admin.people_models import AdminUser, ManagerLink, OrgNode
from services.gateway.http.dependencies import EngineDep, OwnersDep, SettingsDep
from services.gateway.owners import UsersClient

router = admin_router()

ADMIN_PAGE_SIZE = 100
# The tree is read whole, page by page; past this many users it is drawn from the first ones only.
MANAGER_TREE_MAX_USERS = 5_000
SEARCHED_ATTRIBUTES = ("userName", "displayName", "name.formatted", "name.givenName", "name.familyName")


class UsersOut(BaseModel):
    tenant_id: str
    total_results: int
    start_index: int
    users: list[AdminUser]


class ManagerTree(BaseModel):
    tenant_id: str
    default_manager_id: str | None
    total_users: int
    complete: bool = Field(description=f"False past {MANAGER_TREE_MAX_USERS} users: the first ones only.")
    roots: list[OrgNode]


def search_filter(search: str | None) -> str | None:
    """A SCIM filter (RFC 7644 §3.4.2.2) for users whose name or userName contains ``search``; the value
    is a JSON string literal, as the filter grammar takes it (RFC 7159), so quotes cannot break out."""
    if search is None or not search.strip():
        return None
    literal = json.dumps(search.strip())
    return " or ".join(f"{attribute} co {literal}" for attribute in SEARCHED_ATTRIBUTES)


def _as_admin_user(user: UserRecord, managers: dict[str, UserRecord]) -> AdminUser:
    link = None
    if user.manager_id is not None:
        manager = managers.get(user.manager_id)
        link = ManagerLink(
            id=user.manager_id,
            user_name=manager.profile.user_name if manager else None,
            display_name=manager.profile.display_name if manager else None,
            is_default=user.manager_via is ManagerVia.DEFAULT,
        )
    profile = user.profile
    return AdminUser(
        id=user.id,
        user_name=profile.user_name,
        display_name=profile.display_name,
        active=profile.is_active,
        role=profile.role,
        title=profile.title,
        manager_id=user.manager_id,
        manager=link,
    )


async def users_by_id(
    users_client: UsersClient, tenant_id: str, user_ids: Iterable[str]
) -> dict[str, UserRecord]:
    """The live users among these ids, a bounded filter per query."""
    wanted = sorted(set(user_ids))
    found: dict[str, UserRecord] = {}
    for start in range(0, len(wanted), ADMIN_PAGE_SIZE):
        chunk = wanted[start : start + ADMIN_PAGE_SIZE]
        by_id = " or ".join(f"id eq {json.dumps(user_id)}" for user_id in chunk)
        page = await users_client.list(tenant_id, ListParameters(filter=by_id, count=len(chunk)))
        found.update({user.id: user for user in page.users})
    return found


async def with_managers(
    users_client: UsersClient, tenant_id: str, users: Sequence[UserRecord]
) -> list[AdminUser]:
    """The users with their managers' names; managers not among them are read by id."""
    known = {user.id: user for user in users}
    missing = {user.manager_id for user in users if user.manager_id} - known.keys()
    known.update(await users_by_id(users_client, tenant_id, missing))
    return [_as_admin_user(user, known) for user in users]


@router.get("/tenants/{tenant_id}/users")
async def list_users(
    tenant_id: str,
    engine: EngineDep,
    owners: OwnersDep,
    search: Annotated[str | None, Query(max_length=200, description="Part of a name or userName.")] = None,
    start_index: Annotated[int, Query(alias="startIndex", ge=1, le=MAX_INDEX)] = 1,
    count: Annotated[int, Query(ge=0, le=ADMIN_PAGE_SIZE)] = ADMIN_PAGE_SIZE,
) -> UsersOut:
    """A page of users by userName, each with the manager the users service resolved and whether that
    is the tenant's default manager standing in."""
    require_tenant(engine, tenant_id)
    parameters = ListParameters(
        filter=search_filter(search), start_index=start_index, count=count, sort_by="userName"
    )
    page = await owners.users.list(tenant_id, parameters)
    users = await with_managers(owners.users, tenant_id, page.users)
    return UsersOut(
        tenant_id=tenant_id, total_results=page.total_results, start_index=page.start_index, users=users
    )


@router.get("/tenants/{tenant_id}/manager-tree")
async def manager_tree(
    tenant_id: str, engine: EngineDep, owners: OwnersDep, settings: SettingsDep
) -> ManagerTree:
    """Every user under their resolved manager (users without one, or whose manager is not read, are
    roots), and who the default manager is."""
    require_tenant(engine, tenant_id)
    users: list[UserRecord] = []
    total = 1
    while len(users) < min(total, MANAGER_TREE_MAX_USERS):
        parameters = ListParameters(
            start_index=len(users) + 1, count=settings.max_page_size, sort_by="userName"
        )
        page = await owners.users.list(tenant_id, parameters)
        total = page.total_results
        if not page.users:
            break
        users.extend(page.users)
    default = await owners.users.default_manager(tenant_id)
    people = await with_managers(owners.users, tenant_id, users[:MANAGER_TREE_MAX_USERS])
    return ManagerTree(
        tenant_id=tenant_id,
        default_manager_id=default.effective_id,
        total_users=total,
        complete=len(users) >= total,
        roots=org_chart(people),
    )
