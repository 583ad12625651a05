"""The teams service's command and query handlers (SCIM groups, portal teams, queries)."""

from __future__ import annotations

from contracts.teams import (
    ChangePortalTeamMembers,
    CreatePortalTeam,
    DeleteGroup,
    DeletePortalTeam,
    GetTeam,
    ListGroups,
    ListTeams,
    PatchGroup,
    PushGroup,
    ReleaseTeam,
    RenamePortalTeam,
    ReplaceGroup,
)
from servicekit.handling import HandlerMap
from services.teams import groups, portal, queries

COMMAND_HANDLERS: HandlerMap = {
    PushGroup: groups.push_group,
    ReplaceGroup: groups.replace_group,
    PatchGroup: groups.patch_group,
    DeleteGroup: groups.delete_group,
    CreatePortalTeam: portal.create_portal_team,
    RenamePortalTeam: portal.rename_portal_team,
    ChangePortalTeamMembers: portal.change_portal_team_members,
    DeletePortalTeam: portal.delete_portal_team,
    ReleaseTeam: portal.release_team,
}
QUERY_HANDLERS: HandlerMap = {
    GetTeam: queries.get_team,
    ListGroups: queries.list_groups,
    ListTeams: queries.list_teams,
}
