"""The teams service process: wiring only."""

from __future__ import annotations

import sys

from contracts.topics import TEAMS_COMMANDS, TEAMS_EVENTS, TEAMS_QUERIES, USERS_EVENTS
from servicekit.service import ServiceDefinition, run_process
from services.teams.config import TeamsSettings
from services.teams.handlers import COMMAND_HANDLERS, QUERY_HANDLERS
from services.teams.replica import USER_EVENT_HANDLERS
from services.teams.store import TEAM_TABLES

DEFINITION = ServiceDefinition(
    name="teams",
    tables=TEAM_TABLES,
    subscriptions={TEAMS_COMMANDS: COMMAND_HANDLERS, TEAMS_QUERIES: QUERY_HANDLERS},
    owned_topics=(TEAMS_COMMANDS, TEAMS_QUERIES, TEAMS_EVENTS),
    listens={USERS_EVENTS: USER_EVENT_HANDLERS},
)


def main() -> None:
    run_process(DEFINITION, TeamsSettings(), sys.argv[1:])


if __name__ == "__main__":
    main()
