"""One fresh database per service, as the migration tests use them: on SQLite or on PostgreSQL, and
handed to ``roster-migrate`` the way an operator does (``<SERVICE>_DATABASE_URL``). Roster 0.1.0's own
code imports this module to seed its databases (tests/test_schema_migrations.py), so it imports
nothing of today's servicekit."""

from __future__ import annotations

from pathlib import Path

import pytest

from devinfra.fixtures import PostgresServer

SERVICES = ("users", "seats", "teams", "activity", "gateway")


def fresh_databases(database_url: str, request: pytest.FixtureRequest) -> dict[str, str]:
    if database_url.startswith("sqlite"):
        folder = Path(database_url.removeprefix("sqlite:///")).parent
        return {name: f"sqlite:///{folder / name}.db" for name in SERVICES}
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return {name: server.create_database(f"m_{name}") for name in SERVICES}


def database_variables(databases: dict[str, str]) -> dict[str, str]:
    return {f"{name.upper()}_DATABASE_URL": url for name, url in databases.items()}
