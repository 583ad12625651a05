"""The teams database: its tables and its migrations (``migrations/``)."""

from __future__ import annotations

from pathlib import Path

from servicekit.messaging import MESSAGING_TABLES
from servicekit.migrations import SchemaHistory
from services.teams.store import TEAM_TABLES

SCHEMA = SchemaHistory(
    service="teams",
    versions=Path(__file__).with_name("migrations"),
    tables=(*TEAM_TABLES, *MESSAGING_TABLES),
)
