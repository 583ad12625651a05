"""Admin API for teams. Changes are commands to the teams service, exactly like SCIM ones; its refusals
(e.g. a team managed in the identity provider) come back with its detail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Query, Response
from pydantic import BaseModel, Field

from contracts.ids import mint_id
from contracts.listing import MAX_INDEX
from contracts.teams import (
    ChangePortalTeamMembers,
    CreatePortalTeam,
    DeletePortalTeam,
    ListTeams,
    ReleaseTeam,
    RenamePortalTeam,
    TeamRecord,
    TeamSource,
)
from contracts.text import VisibleText
from services.gateway.admin.access import AdminBody, admin_router, require_tenant
from services.gateway.http.dependencies import EngineDep, OwnersDep
from services.gateway.membership import require_users
from services.gateway.owners import Owners
from services.gateway.streaming import chunks, dumps, json_array, object_with, streamed

router = admin_router()

TeamName = Field(min_length=1, max_length=200)
ADMIN_PAGE_SIZE = 100


class NewTeam(AdminBody):
    display_name: VisibleText = TeamName
    member_ids: list[str] = Field(default_factory=list)


class TeamRename(AdminBody):
    display_name: VisibleText = TeamName


class MemberChanges(AdminBody):
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class TeamsOut(BaseModel):
    total_results: int
    start_index: int
    teams: list[TeamRecord]  # may hold fewer than asked for: a page ends where its members fill a reply


async def team_page(
    tenant_id: str,
    engine: EngineDep,
    owners: OwnersDep,
    source: TeamSource | None = None,
    start_index: int = 1,
    count: int = ADMIN_PAGE_SIZE,
) -> TeamsOut:
    """A page of teams as the teams service sends it: a team larger than one page of members without
    them (the console shows its count)."""
    require_tenant(engine, tenant_id)
    page = await owners.teams.list_teams(
        tenant_id, ListTeams(source=source, start_index=start_index, count=count)
    )
    return TeamsOut(total_results=page.total_results, start_index=page.start_index, teams=list(page.teams))


@router.get("/tenants/{tenant_id}/teams", response_model=TeamsOut)
async def list_teams(
    tenant_id: str,
    engine: EngineDep,
    owners: OwnersDep,
    source: TeamSource | None = None,
    start_index: Annotated[int, Query(alias="startIndex", ge=1, le=MAX_INDEX)] = 1,
    count: Annotated[int, Query(ge=0, le=ADMIN_PAGE_SIZE)] = ADMIN_PAGE_SIZE,
) -> Response:
    """A page of teams in creation order; ``startIndex`` = previous start + teams received, until
    ``total_results`` (the CLI pages through them all). Every team with all its members: those of a
    team too large for one reply are read a page at a time while the answer is written."""
    page = await team_page(tenant_id, engine, owners, source, start_index, count)
    head = page.model_dump(mode="json", exclude={"teams"})
    body = object_with(head, "teams", _teams_json(owners, tenant_id, page.teams))
    return streamed(body, media_type="application/json")


async def _teams_json(owners: Owners, tenant_id: str, teams: list[TeamRecord]) -> AsyncIterator[str]:
    """The teams as a JSON array; a large team's members written as they arrive, a page at a time."""
    yield "["
    for index, team in enumerate(teams):
        if index:
            yield ","
        if team.members is not None or not team.member_count:
            yield dumps(team.model_dump(mode="json"))
            continue
        pages = owners.teams.members(tenant_id, team.id, any_source=True)
        members = json_array(chunks(pages, lambda page: [member.model_dump(mode="json") for member in page]))
        async for part in object_with(team.model_dump(mode="json", exclude={"members"}), "members", members):
            yield part
    yield "]"


@router.post("/tenants/{tenant_id}/teams", status_code=201)
async def create_team(tenant_id: str, engine: EngineDep, body: NewTeam, owners: OwnersDep) -> TeamRecord:
    require_tenant(engine, tenant_id)
    await require_users(owners.users, tenant_id, body.member_ids)
    command = CreatePortalTeam(
        team_id=mint_id(),
        display_name=body.display_name.strip(),
        member_ids=tuple(dict.fromkeys(body.member_ids)),
    )
    return await owners.teams.write(tenant_id, command)


@router.patch("/tenants/{tenant_id}/teams/{team_id}")
async def rename_team(
    tenant_id: str, engine: EngineDep, team_id: str, body: TeamRename, owners: OwnersDep
) -> TeamRecord:
    require_tenant(engine, tenant_id)
    command = RenamePortalTeam(team_id=team_id, display_name=body.display_name.strip())
    return await owners.teams.write(tenant_id, command)


@router.post("/tenants/{tenant_id}/teams/{team_id}/release")
async def release_team(tenant_id: str, engine: EngineDep, team_id: str, owners: OwnersDep) -> TeamRecord:
    """The IdP stopped managing the team (Okta: unlink, keep the group): editable in the portal again."""
    require_tenant(engine, tenant_id)
    return await owners.teams.write(tenant_id, ReleaseTeam(team_id=team_id))


@router.post("/tenants/{tenant_id}/teams/{team_id}/members")
async def change_members(
    tenant_id: str, engine: EngineDep, team_id: str, body: MemberChanges, owners: OwnersDep
) -> TeamRecord:
    require_tenant(engine, tenant_id)
    await require_users(owners.users, tenant_id, body.add)
    command = ChangePortalTeamMembers(
        team_id=team_id, add=tuple(dict.fromkeys(body.add)), remove=tuple(dict.fromkeys(body.remove))
    )
    return await owners.teams.write(tenant_id, command)


@router.delete("/tenants/{tenant_id}/teams/{team_id}", status_code=204, response_model=None)
async def delete_team(tenant_id: str, engine: EngineDep, team_id: str, owners: OwnersDep) -> Response:
    require_tenant(engine, tenant_id)
    await owners.teams.delete(tenant_id, DeletePortalTeam(team_id=team_id))
    return Response(status_code=204)
