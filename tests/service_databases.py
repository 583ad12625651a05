"""One fresh database per service, as the migration tests use them: on SQLite or on PostgreSQL, and
handed to ``roster-migrate`` the way an operator does (``<SERVICE>_DATABASE_URL``); and one database
migrated to this release's schema, as the handler tests use it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from devinfra.fixtures import PostgresServer
from servicekit import migrations
from servicekit.db import make_engine

SERVICES = ("users", "seats", "teams", "activity", "gateway")


def fresh_databases(database_url: str, request: pytest.FixtureRequest) -> dict[str, str]:
    if database_url.startswith("sqlite"):
        folder = Path(database_url.removeprefix("sqlite:///")).parent
        return {name: f"sqlite:///{folder / name}.db" for name in SERVICES}
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return {name: server.create_database(f"m_{name}") for name in SERVICES}


def database_variables(databases: dict[str, str]) -> dict[str, str]:
    return {f"{name.upper()}_DATABASE_URL": url for name, url in databases.items()}


@contextmanager
def migrated_engine(database_url: str, history: migrations.SchemaHistory) -> Iterator[Engine]:
    """An engine on ``database_url`` with the database at this release's schema, disposed afterwards."""
    engine = make_engine(database_url)
    migrations.upgrade(engine, history)
    try:
        yield engine
    finally:
        engine.dispose()
