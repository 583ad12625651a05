"""The activity service's database for its handler tests: migrated to the head revision, on SQLite
and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from services.activity.schema import SCHEMA
from tests.migrated_database import migrated_engine


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with migrated_engine(database_url, SCHEMA) as engine:
        yield engine
