"""A database at this release's schema, as the handler tests of each service use it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from servicekit import migrations
from servicekit.db import make_engine


@contextmanager
def migrated_engine(database_url: str, history: migrations.SchemaHistory) -> Iterator[Engine]:
    """An engine on ``database_url`` with the database at this release's schema, disposed afterwards."""
    engine = make_engine(database_url)
    migrations.upgrade(engine, history)
    try:
        yield engine
    finally:
        engine.dispose()
