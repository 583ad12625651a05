"""The gateway database (tenants and token hashes) and its migrations (``migrations/``)."""

from __future__ import annotations

from pathlib import Path

from servicekit.migrations import SchemaHistory
from services.gateway.store import GATEWAY_TABLES

SCHEMA = SchemaHistory(
    service="gateway", versions=Path(__file__).with_name("migrations"), tables=GATEWAY_TABLES
)
