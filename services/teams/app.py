"""The teams service process: wiring only."""

from __future__ import annotations

import sys

from contracts.teams import (
    ChangePortalTeamMembers,
    CreatePortalTeam,
    DeleteGroup,
    DeletePortalTeam,
    GetTeam,
    ListGroups,
    ListTeamMembers,
    ListTeams,
    PatchGroup,
    PushGroup,
    ReleaseTeam,
    RenamePortalTeam,
    ReplaceGroup,
)
from contracts.topics import TEAMS_COMMANDS, TEAMS_EVENTS, TEAMS_QUERIES, USERS_EVENTS
from servicekit.definition import ServiceDefinition
from servicekit.process import check_arguments, run_process
from servicekit.records import HandlerMap
from services.teams import groups, portal, queries
from services.teams.config import TeamsSettings
from services.teams.replica import USER_EVENT_HANDLERS
from services.teams.schema import SCHEMA

# The handlers live by what they serve: SCIM groups, portal teams, queries (users events: replica).
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
    ListTeamMembers: queries.list_team_members,
    ListGroups: queries.list_groups,
    ListTeams: queries.list_teams,
}

DEFINITION = ServiceDefinition(
    name="teams",
    schema=SCHEMA,
    subscriptions={TEAMS_COMMANDS: COMMAND_HANDLERS},
    queries={TEAMS_QUERIES: QUERY_HANDLERS},
    owned_topics=(TEAMS_COMMANDS, TEAMS_QUERIES, TEAMS_EVENTS),
    listens={USERS_EVENTS: USER_EVENT_HANDLERS},
)


def main() -> None:
    check_arguments("teams", sys.argv[1:])  # before the settings: a typo or --help needs none
    run_process(DEFINITION, TeamsSettings(), sys.argv[1:])


if __name__ == "__main__":
    main()
