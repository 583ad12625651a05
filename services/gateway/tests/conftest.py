"""The gateway's own database for store-level tests, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from servicekit import migrations
from servicekit.db import make_engine
from services.gateway.schema import SCHEMA


@pytest.fixture
def gateway_engine(database_url: str) -> Iterator[Engine]:
    """A fresh gateway database at this release's schema."""
    created = make_engine(database_url)
    migrations.upgrade(created, SCHEMA)
    yield created
    created.dispose()
