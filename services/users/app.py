"""The users service process: wiring only."""

from __future__ import annotations

import sys

from contracts.topics import SEATS_EVENTS, USERS_COMMANDS, USERS_EVENTS, USERS_QUERIES
from servicekit.definition import Periodic, ServiceDefinition
from servicekit.process import check_arguments, run_process
from services.users.config import UsersSettings
from services.users.handlers import COMMAND_HANDLERS, QUERY_HANDLERS
from services.users.pending import SAGA_GAUGES
from services.users.schema import SCHEMA
from services.users.seating import (
    NEEDLESS,
    SAGA_COMPENSATIONS,
    SEAT_EVENT_HANDLERS,
    ask_again_for_lost_decisions,
)

DEFINITION = ServiceDefinition(
    name="users",
    schema=SCHEMA,
    subscriptions={USERS_COMMANDS: COMMAND_HANDLERS},
    queries={USERS_QUERIES: QUERY_HANDLERS},
    owned_topics=(USERS_COMMANDS, USERS_QUERIES, USERS_EVENTS),
    listens={SEATS_EVENTS: SEAT_EVENT_HANDLERS},
    periodic=(Periodic("sagas asked again for a lost seat decision", 30.0, ask_again_for_lost_decisions),),
    gauges=SAGA_GAUGES,
    compensations=SAGA_COMPENSATIONS,
    needless=NEEDLESS,
)


def main() -> None:
    check_arguments("users", sys.argv[1:])  # before the settings: a typo or --help needs none
    run_process(DEFINITION, UsersSettings(), sys.argv[1:])


if __name__ == "__main__":
    main()
