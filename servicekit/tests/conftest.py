from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from servicekit.db import create_tables, make_engine
from servicekit.messaging import MESSAGING_TABLES


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A fresh database holding only the messaging tables (inbox, outbox), on SQLite and PostgreSQL."""
    created = make_engine(database_url)
    create_tables(created, MESSAGING_TABLES)
    yield created
    created.dispose()
