"""The seats service process: wiring only."""

from __future__ import annotations

import sys

from contracts.topics import SEATS_COMMANDS, SEATS_EVENTS, SEATS_QUERIES
from servicekit.definition import ServiceDefinition
from servicekit.process import check_arguments, run_process
from services.seats.config import SeatsSettings
from services.seats.domain import DEFAULT_ALLOWANCE_BLOCK
from services.seats.handlers import QUERY_HANDLERS, command_handlers
from services.seats.schema import SCHEMA


def definition(settings: SeatsSettings) -> ServiceDefinition:
    return ServiceDefinition(
        name="seats",
        schema=SCHEMA,
        subscriptions={SEATS_COMMANDS: command_handlers(allowance_block=settings.allowance_block)},
        queries={SEATS_QUERIES: QUERY_HANDLERS},
        owned_topics=(SEATS_COMMANDS, SEATS_QUERIES, SEATS_EVENTS),
    )


DEFINITION = definition(SeatsSettings.model_construct(allowance_block=DEFAULT_ALLOWANCE_BLOCK))
"""The wiring as the contracts tests read it (topics and handlers do not depend on the settings)."""


def main() -> None:
    check_arguments("seats", sys.argv[1:])  # before the settings: a typo or --help needs none
    settings = SeatsSettings()
    run_process(definition(settings), settings, sys.argv[1:])


if __name__ == "__main__":
    main()
