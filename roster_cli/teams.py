"""``team`` commands: list every team, and create or change portal teams (teams the identity provider
manages are read-only here; the gateway's refusal says where they are managed)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from roster_cli.errors import AdminError, ExitCode
from roster_cli.models import Team, TeamSource
from roster_cli.output import add_row, stacked, table
from roster_cli.session import Session, session
from roster_cli.tenants import TenantId

team_app = typer.Typer(help="Teams.", no_args_is_help=True)

TeamId = Annotated[str, typer.Argument(help="The team's id (TEAM_ID).")]
TeamName = Annotated[str, typer.Argument(help="The team's name.")]


def team_table(teams: list[Team]) -> Table:
    """One row per team; its MEMBERS cell holds the count, then each member the gateway sent."""
    grid = table("ID", "NAME", "SOURCE", "LINKED", "LEADER", "MEMBERS")
    for team in teams:
        members = [str(team.member_count)]
        members += [f"{m.user_id} {m.display or ''}".rstrip() for m in team.members or []]
        linked = "linked" if team.linked else "not linked"
        add_row(grid, team.id, team.display_name, team.source, linked, team.leader_id, stacked(members))
    return grid


def _show_team(admin: Session, team: Team, *first: str) -> None:
    admin.out.show(team.model_dump(mode="json"), *first, team_table([team]))


@team_app.command("list")
def list_teams(
    ctx: typer.Context,
    tenant_id: TenantId,
    source: Annotated[TeamSource | None, typer.Option(help="Only teams from this source.")] = None,
) -> None:
    """Every team with its members (all pages)."""
    admin = session(ctx)
    teams = admin.client.all_teams(tenant_id, source=source)
    document = {"tenant_id": tenant_id, "teams": [team.model_dump(mode="json") for team in teams]}
    admin.out.show(document, team_table(teams) if teams else "no teams")


@team_app.command("create")
def create_team(
    ctx: typer.Context,
    tenant_id: TenantId,
    name: TeamName,
    member: Annotated[
        list[str] | None, typer.Option(metavar="USER_ID", help="A member; repeat for more.")
    ] = None,
) -> None:
    """Create a portal team (one Okta can link by pushing a group of that name): its id on the first line."""
    admin = session(ctx)
    team = admin.client.create_team(tenant_id, name, member or [])
    _show_team(admin, team, team.id)


@team_app.command("rename")
def rename_team(ctx: typer.Context, tenant_id: TenantId, team_id: TeamId, name: TeamName) -> None:
    """Rename a portal team."""
    admin = session(ctx)
    _show_team(admin, admin.client.rename_team(tenant_id, team_id, name))


@team_app.command("members")
def change_members(
    ctx: typer.Context,
    tenant_id: TenantId,
    team_id: TeamId,
    add: Annotated[list[str] | None, typer.Option(metavar="USER_ID", help="Add a member; repeat.")] = None,
    remove: Annotated[
        list[str] | None, typer.Option(metavar="USER_ID", help="Remove a member; repeat.")
    ] = None,
) -> None:
    """Add or remove members of a portal team."""
    if not (add or remove):
        message = "nothing to change: pass --add USER_ID and/or --remove USER_ID (each may repeat)"
        raise AdminError(message, ExitCode.USAGE)
    admin = session(ctx)
    _show_team(admin, admin.client.change_members(tenant_id, team_id, add=add or [], remove=remove or []))


@team_app.command("delete")
def delete_team(ctx: typer.Context, tenant_id: TenantId, team_id: TeamId) -> None:
    """Delete a portal team (its users stay)."""
    admin = session(ctx)
    admin.client.delete_team(tenant_id, team_id)
    document = {"tenant_id": tenant_id, "team_id": team_id, "deleted": True}
    admin.out.show(document, f"deleted team {team_id}")


@team_app.command("release")
def release_team(ctx: typer.Context, tenant_id: TenantId, team_id: TeamId) -> None:
    """Hand a team the IdP no longer manages back to the portal (after Okta's unlink)."""
    admin = session(ctx)
    _show_team(admin, admin.client.release_team(tenant_id, team_id))
