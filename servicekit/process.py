"""A service's process: its entry point (``run_process``), serving until SIGINT or SIGTERM, and the
exit status of a start it refuses (docs/operations.md, "Troubleshoot")."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

import uvloop

from servicekit import health, logs, migrations
from servicekit.db import DatabaseUnreachable, unreachable_as_refusal
from servicekit.definition import ServiceDefinition
from servicekit.health_listener import CannotListen
from servicekit.kafka import KafkaUnreachable
from servicekit.migrations import SchemaBehind
from servicekit.service import RunningService
from servicekit.settings import ConsumingServiceSettings
from servicekit.sqlite_owner import DatabaseRefused

log = logging.getLogger(__name__)

REFUSALS: dict[type[Exception], int] = {
    SchemaBehind: 3,
    KafkaUnreachable: 4,
    DatabaseRefused: 5,
    DatabaseUnreachable: 6,
    CannotListen: 7,
}
"""Why a start is refused, and the exit status that says so."""


def exit_refused(name: str, refusal: Exception) -> NoReturn:
    """One log line saying why, and the refusal's exit status: no traceback."""
    log.error("%s cannot start: %s", name, refusal)
    sys.exit(next(status for kind, status in REFUSALS.items() if isinstance(refusal, kind)))


async def _serve_with_signals(definition: ServiceDefinition, settings: ConsumingServiceSettings) -> None:
    """Start (a database it cannot reach refuses the start), then serve until SIGINT or SIGTERM."""
    with unreachable_as_refusal(settings.resolved_database_url()):
        service = RunningService(definition, settings)  # Kafka clients need the running loop
        await service.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await service.stop()


_COMMANDS: tuple[list[str], ...] = ([], ["--health"], ["migrate"])


def check_arguments(name: str, argv: Sequence[str]) -> None:
    """Serve, ``--health`` or ``migrate``, nothing else: a typo (``migrte``) or ``--help`` must not
    start one more instance of the service."""
    if list(argv) in _COMMANDS:
        return
    usage = (
        f"usage: python -m services.{name} [--health | migrate]\n"
        "  (no argument) serve until SIGINT or SIGTERM\n"
        "  --health      exit 0 when the running process is ready (its /readyz)\n"
        "  migrate       upgrade its database to this release's schema"
    )
    if list(argv) in (["--help"], ["-h"]):
        print(usage)
        sys.exit(0)
    print(f"{usage}\nunknown arguments: {' '.join(argv)}", file=sys.stderr)
    sys.exit(2)


def run_process(
    definition: ServiceDefinition, settings: ConsumingServiceSettings, argv: Sequence[str]
) -> None:
    """A service's ``main``: ``--health`` asks its ``/readyz`` (with no health listener: probes its
    database and Kafka), ``migrate`` upgrades its database; otherwise serve until signalled."""
    check_arguments(definition.name, argv)
    if "--health" in argv:
        sys.exit(health.exit_status(settings))
    logs.configure(service=definition.name, instance=logs.default_instance())
    if argv[:1] == ["migrate"]:
        sys.exit(migrations.migrate_exit_status(definition.schema, settings.resolved_database_url()))
    try:
        uvloop.run(_serve_with_signals(definition, settings))
    except tuple(REFUSALS) as refusal:
        exit_refused(definition.name, refusal)
