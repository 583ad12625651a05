"""The activity database: its tables and its migrations (``migrations/``)."""

from __future__ import annotations

from pathlib import Path

from servicekit.messaging import MESSAGING_TABLES
from servicekit.migrations import SchemaHistory
from services.activity.store import ACTIVITY_TABLES

SCHEMA = SchemaHistory(
    service="activity",
    versions=Path(__file__).with_name("migrations"),
    tables=(*ACTIVITY_TABLES, *MESSAGING_TABLES),
)
