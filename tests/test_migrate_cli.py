"""``roster-migrate`` as an operator runs it: ``--check`` as a release gate that changes nothing and
names each database it checked, ``--draft`` for one service only, and a server it cannot reach said in
a line per database, with neither a traceback nor the password."""

from __future__ import annotations

import socket
from pathlib import Path
from uuid import uuid4

from sqlalchemy import make_url
from typer.testing import CliRunner

from servicekit.db import database_exists
from services.migrate import app as migrate_cli
from tests.service_databases import SERVICES, database_variables


def test_a_draft_names_one_database() -> None:
    drafted = CliRunner().invoke(migrate_cli, ["all", "--draft", "several at once"])
    assert drafted.exit_code == 2
    assert "name one service's database" in drafted.output


def _absent(url: str) -> str:
    """A database of the same kind that is not there: a SQLite file in a folder not made, a
    PostgreSQL database not created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///{Path(str(parsed.database)).parent / 'absent' / Path(str(parsed.database)).name}"
    return parsed.set(database=f"absent_{uuid4().hex[:12]}").render_as_string(hide_password=False)


def test_check_passes_new_databases_and_makes_nothing(databases: dict[str, str]) -> None:
    """A new database is created at start with nothing to migrate, so a release gate passes it; and
    --check changes nothing: no file, folder or database appears."""
    absent = {name: _absent(url) for name, url in databases.items()}
    check = CliRunner().invoke(migrate_cli, ["all", "--check"], env=database_variables(absent))
    assert check.exit_code == 0, check.output
    assert check.output.count("new (no tables yet); the service creates them at start") == len(SERVICES)
    for name, url in absent.items():
        shown = make_url(url).render_as_string(hide_password=True)
        assert f"{name}: {shown}: new (no tables yet)" in check.output
    assert not any(database_exists(url) for url in absent.values())
    for url in absent.values():
        if url.startswith("sqlite"):
            assert not Path(str(make_url(url).database)).parent.exists()
    drafted = CliRunner().invoke(
        migrate_cli, ["users", "--check", "--draft", "x"], env=database_variables(absent)
    )
    assert drafted.exit_code == 2 and not database_exists(absent["users"])
    unreadable = CliRunner().invoke(migrate_cli, ["users", "--check"], env={"USERS_DATABASE_URL": "notaurl"})
    assert unreadable.exit_code == 1 and "is not one, e.g." in unreadable.output


def test_check_names_the_database_it_checked(tmp_path: Path) -> None:
    """Run where no database setting is given (an operator's shell, not the deployment), a check finds
    the default SQLite files absent and passes them as new: each line says which database that was.
    A URL's password is never shown."""
    unset: dict[str, str | None] = {"DATABASE_URL": None, "DATABASE_PASSWORD": None}
    for name in SERVICES:
        unset |= {f"{name.upper()}_DATABASE_URL": None, f"{name.upper()}_DATABASE_PASSWORD": None}
    defaults = CliRunner().invoke(
        migrate_cli, ["all", "--check"], env={**unset, "ROSTER_STATE_DIR": str(tmp_path)}
    )
    assert defaults.exit_code == 0, defaults.output
    for name in SERVICES:
        assert f"{name}: sqlite:///{tmp_path / name}.db: new (no tables yet)" in defaults.output

    password = "s3cret-" + uuid4().hex
    server = f"roster:{password}@127.0.0.1:{_closed_port()}"
    shared = f"postgresql+psycopg://{server}/roster"
    refused = CliRunner().invoke(migrate_cli, ["seats", "--check"], env={**unset, "DATABASE_URL": shared})
    assert refused.exit_code == 1
    masked = f"postgresql+psycopg://{server.replace(password, '***')}/roster_seats"
    assert refused.output.startswith(f"seats: {masked}: "), refused.output
    assert password not in refused.output


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_server_it_cannot_reach_fails_each_database_in_words(tmp_path: Path) -> None:
    password = "s3cret-" + uuid4().hex
    unreachable = f"postgresql+psycopg://roster:{password}@127.0.0.1:{_closed_port()}/roster_users"
    env = {"USERS_DATABASE_URL": unreachable, "TEAMS_DATABASE_URL": unreachable.replace("users", "teams")}
    for args in (["users"], ["users", "--check"], ["teams"]):
        result = CliRunner().invoke(migrate_cli, args, env=env)
        assert result.exit_code == 1, (args, result.output)
        assert f"{args[0]}: " in result.output and "Connection refused" in result.output
        assert "Traceback" not in result.output and password not in result.output
