"""``roster-migrate [users|seats|teams|activity|gateway|all]``: bring each service's database to this
release's schema, before its processes start. Safe to run again, and from several hosts at once
(one runs, the others wait and then find nothing to do). ``--check`` changes nothing and exits 1
if a database is behind (a new one passes: the service creates it at start). ``--draft "message"``
(developers, one service) upgrades the database and writes the next revision from its difference to
the models, for review. The same as ``python -m services.<name> migrate`` for one service.

Each database is found as the service finds it (``<SERVICE>_DATABASE_URL``, else ``DATABASE_URL``,
else a SQLite file in ``ROSTER_STATE_DIR``).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer

from servicekit import migrations
from servicekit.db import make_engine
from servicekit.migrations import SchemaHistory
from servicekit.settings import ServiceSettings
from services.activity.config import ActivitySettings
from services.activity.schema import SCHEMA as ACTIVITY
from services.gateway.config import GatewayDatabaseSettings
from services.gateway.schema import SCHEMA as GATEWAY
from services.seats.config import SeatsSettings
from services.seats.schema import SCHEMA as SEATS
from services.teams.config import TeamsSettings
from services.teams.schema import SCHEMA as TEAMS
from services.users.config import UsersSettings
from services.users.schema import SCHEMA as USERS


class Target(StrEnum):
    USERS = "users"
    SEATS = "seats"
    TEAMS = "teams"
    ACTIVITY = "activity"
    GATEWAY = "gateway"
    ALL = "all"


DATABASES: dict[Target, tuple[SchemaHistory, Callable[[], ServiceSettings]]] = {
    Target.USERS: (USERS, UsersSettings),
    Target.SEATS: (SEATS, SeatsSettings),
    Target.TEAMS: (TEAMS, TeamsSettings),
    Target.ACTIVITY: (ACTIVITY, ActivitySettings),
    Target.GATEWAY: (GATEWAY, GatewayDatabaseSettings),
}

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def migrate(
    target: Annotated[Target, typer.Argument(help="One service's database, or all of them.")] = Target.ALL,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a database is behind.")
    ] = False,
    draft: Annotated[
        str | None,
        typer.Option(
            "--draft", help="Write the next revision of one service, from its models, with this message."
        ),
    ] = None,
) -> None:
    if draft is not None:
        if check:
            raise typer.BadParameter(
                "--check changes nothing; --draft writes a revision", param_hint="--draft"
            )
        _draft(target, draft)
        return
    chosen = list(DATABASES) if target is Target.ALL else [target]
    failures = 0
    for name in chosen:
        history, settings = DATABASES[name]
        url = settings().resolved_database_url()
        if check:
            failures += migrations.check_exit_status(history, url)
        else:
            failures += migrations.migrate_exit_status(history, url)
    raise typer.Exit(1 if failures else 0)


def _draft(target: Target, message: str) -> None:
    if target is Target.ALL:
        raise typer.BadParameter("name one service's database", param_hint="TARGET")
    history, settings = DATABASES[target]
    engine = make_engine(settings().resolved_database_url())
    try:
        written = migrations.new_revision(engine, history, message)
    finally:
        engine.dispose()
    typer.echo(f"wrote {written}: review it (autogenerate is a draft) and commit it with the model change")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
