"""The users service process: wiring only."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from contracts.topics import USERS_COMMANDS, USERS_EVENTS, USERS_QUERIES
from servicekit import health
from servicekit.service import RunningService, ServiceDefinition, serve_until_stopped
from services.users.config import UsersSettings
from services.users.handlers import COMMAND_HANDLERS, QUERY_HANDLERS
from services.users.store import USER_TABLES

DEFINITION = ServiceDefinition(
    name="users",
    tables=USER_TABLES,
    subscriptions={USERS_COMMANDS: COMMAND_HANDLERS, USERS_QUERIES: QUERY_HANDLERS},
    owned_topics=(USERS_COMMANDS, USERS_QUERIES, USERS_EVENTS),
)


def build(settings: UsersSettings | None = None) -> RunningService:
    return RunningService(DEFINITION, settings or UsersSettings())


async def _run() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve_until_stopped(build(), stop)


def main() -> None:
    if "--health" in sys.argv[1:]:
        sys.exit(health.exit_status(UsersSettings()))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s users %(levelname)s %(message)s")
    asyncio.run(_run())


if __name__ == "__main__":
    main()
