"""The activity service's database for its handler tests: migrated to the head revision, on SQLite
and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from servicekit import migrations
from servicekit.db import make_engine
from services.activity.schema import SCHEMA


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    created = make_engine(database_url)
    migrations.upgrade(created, SCHEMA)
    yield created
    created.dispose()
