"""The seats database: its tables and its migrations (``migrations/``)."""

from __future__ import annotations

from pathlib import Path

from servicekit.messaging import MESSAGING_TABLES
from servicekit.migrations import SchemaHistory
from services.seats.store import SEAT_TABLES

SCHEMA = SchemaHistory(
    service="seats",
    versions=Path(__file__).with_name("migrations"),
    tables=(*SEAT_TABLES, *MESSAGING_TABLES),
)
