"""The gateway's own database for store-level tests, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from services.gateway.schema import SCHEMA
from tests.migrated_database import migrated_engine


@pytest.fixture
def gateway_engine(database_url: str) -> Iterator[Engine]:
    """A fresh gateway database at this release's schema."""
    with migrated_engine(database_url, SCHEMA) as engine:
        yield engine
