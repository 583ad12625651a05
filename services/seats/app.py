"""The seats service process: wiring only."""

from __future__ import annotations

import sys

from contracts.topics import SEATS_COMMANDS, SEATS_EVENTS, SEATS_QUERIES
from servicekit.service import ServiceDefinition, run_process
from services.seats.config import SeatsSettings
from services.seats.handlers import COMMAND_HANDLERS, QUERY_HANDLERS
from services.seats.schema import SCHEMA

DEFINITION = ServiceDefinition(
    name="seats",
    schema=SCHEMA,
    subscriptions={SEATS_COMMANDS: COMMAND_HANDLERS},
    queries={SEATS_QUERIES: QUERY_HANDLERS},
    owned_topics=(SEATS_COMMANDS, SEATS_QUERIES, SEATS_EVENTS),
)


def main() -> None:
    run_process(DEFINITION, SeatsSettings(), sys.argv[1:])


if __name__ == "__main__":
    main()
