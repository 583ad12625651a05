from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """The messaging tables on a SQLite file: one process, as the SQLite-only rules assume."""
    created = make_engine(f"sqlite:///{tmp_path / 'messaging.db'}")
    create_tables(created, MESSAGING_TABLES)
    yield created
    created.dispose()
