"""Admin API for teams and the default manager. Changes are commands to the owning services, exactly like
SCIM ones; their refusals (e.g. a team managed in the identity provider) come back with the owner's detail.
"""

from __future__ import annotations

from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from contracts.envelope import Message
from contracts.replies import Deleted
from contracts.teams import (
    ChangePortalTeamMembers,
    CreatePortalTeam,
    DeletePortalTeam,
    ListTeams,
    ReleaseTeam,
    RenamePortalTeam,
    TeamPage,
    TeamRecord,
    TeamReply,
    TeamSource,
)
from contracts.topics import (
    TEAMS_COMMANDS,
    TEAMS_QUERIES,
    USERS_COMMANDS,
    USERS_QUERIES,
    resource_key,
    tenant_key,
)
from contracts.users import MAX_INDEX, DefaultManager, GetDefaultManager, SetDefaultManager
from services.gateway.correlator import Requester
from services.gateway.dependencies import AdminAuth, RequesterDep, SessionDep, require_tenant
from services.gateway.member_check import require_users
from services.gateway.scim_http import expect

router = APIRouter(prefix="/admin/v1", dependencies=[AdminAuth])

TeamName = Field(min_length=1, max_length=200, pattern=r"\S")


class NewTeam(BaseModel):
    display_name: str = TeamName
    member_ids: list[str] = Field(default_factory=list)


class TeamRename(BaseModel):
    display_name: str = TeamName


class MemberChanges(BaseModel):
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class DefaultManagerChoice(BaseModel):
    user_id: str | None = Field(description="The user to make default manager; null clears the choice.")


class TeamsOut(BaseModel):
    total_results: int
    start_index: int
    teams: list[TeamRecord]  # may hold fewer than asked for: a page ends where its members fill a reply


ADMIN_PAGE_SIZE = 100


async def _team_command(requester: Requester, message: Message, tenant_id: str, team_id: str) -> Message:
    key = resource_key(tenant_id, team_id)
    return await requester.ask(message, tenant=tenant_id, topic=TEAMS_COMMANDS, key=key)


@router.get("/tenants/{tenant_id}/teams")
async def list_teams(
    tenant_id: str,
    session: SessionDep,
    requester: RequesterDep,
    source: TeamSource | None = None,
    start_index: Annotated[int, Query(alias="startIndex", ge=1, le=MAX_INDEX)] = 1,
    count: Annotated[int, Query(ge=0, le=ADMIN_PAGE_SIZE)] = ADMIN_PAGE_SIZE,
) -> TeamsOut:
    """A page of teams in creation order; ``startIndex`` = previous start + teams received, until
    ``total_results`` (the CLI pages through them all)."""
    require_tenant(session, tenant_id)
    key = resource_key(tenant_id, uuid4().hex)
    query = ListTeams(source=source, start_index=start_index, count=count)
    page = expect(await requester.ask(query, tenant=tenant_id, topic=TEAMS_QUERIES, key=key), TeamPage)
    return TeamsOut(total_results=page.total_results, start_index=page.start_index, teams=list(page.teams))


@router.post("/tenants/{tenant_id}/teams", status_code=201)
async def create_team(
    tenant_id: str, body: NewTeam, session: SessionDep, requester: RequesterDep
) -> TeamRecord:
    require_tenant(session, tenant_id)
    await require_users(requester, tenant_id, body.member_ids)
    team_id = str(uuid4())
    command = CreatePortalTeam(
        team_id=team_id,
        display_name=body.display_name.strip(),
        member_ids=tuple(dict.fromkeys(body.member_ids)),
    )
    return expect(await _team_command(requester, command, tenant_id, team_id), TeamReply).team


@router.patch("/tenants/{tenant_id}/teams/{team_id}")
async def rename_team(
    tenant_id: str, team_id: str, body: TeamRename, session: SessionDep, requester: RequesterDep
) -> TeamRecord:
    require_tenant(session, tenant_id)
    command = RenamePortalTeam(team_id=team_id, display_name=body.display_name.strip())
    return expect(await _team_command(requester, command, tenant_id, team_id), TeamReply).team


@router.post("/tenants/{tenant_id}/teams/{team_id}/release")
async def release_team(
    tenant_id: str, team_id: str, session: SessionDep, requester: RequesterDep
) -> TeamRecord:
    """The IdP stopped managing the team (Okta: unlink, keep the group): editable in the portal again."""
    require_tenant(session, tenant_id)
    command = ReleaseTeam(team_id=team_id)
    return expect(await _team_command(requester, command, tenant_id, team_id), TeamReply).team


@router.post("/tenants/{tenant_id}/teams/{team_id}/members")
async def change_members(
    tenant_id: str, team_id: str, body: MemberChanges, session: SessionDep, requester: RequesterDep
) -> TeamRecord:
    require_tenant(session, tenant_id)
    await require_users(requester, tenant_id, body.add)
    command = ChangePortalTeamMembers(
        team_id=team_id, add=tuple(dict.fromkeys(body.add)), remove=tuple(dict.fromkeys(body.remove))
    )
    return expect(await _team_command(requester, command, tenant_id, team_id), TeamReply).team


@router.delete("/tenants/{tenant_id}/teams/{team_id}", status_code=204, response_model=None)
async def delete_team(tenant_id: str, team_id: str, session: SessionDep, requester: RequesterDep) -> Response:
    require_tenant(session, tenant_id)
    expect(await _team_command(requester, DeletePortalTeam(team_id=team_id), tenant_id, team_id), Deleted)
    return Response(status_code=204)


@router.get("/tenants/{tenant_id}/default-manager")
async def get_default_manager(tenant_id: str, session: SessionDep, requester: RequesterDep) -> DefaultManager:
    require_tenant(session, tenant_id)
    # Keyed by tenant: the default manager is one per tenant, so its commands stay in order.
    reply = await requester.ask(
        GetDefaultManager(), tenant=tenant_id, topic=USERS_QUERIES, key=tenant_key(tenant_id)
    )
    return expect(reply, DefaultManager)


@router.put("/tenants/{tenant_id}/default-manager")
async def set_default_manager(
    tenant_id: str, body: DefaultManagerChoice, session: SessionDep, requester: RequesterDep
) -> DefaultManager:
    require_tenant(session, tenant_id)
    command = SetDefaultManager(user_id=body.user_id)
    reply = await requester.ask(command, tenant=tenant_id, topic=USERS_COMMANDS, key=tenant_key(tenant_id))
    return expect(reply, DefaultManager)
