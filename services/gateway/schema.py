"""The gateway database (tenants, token hashes, dead-letter decisions, rate budgets, creates answered
503) and its migrations."""

from __future__ import annotations

from pathlib import Path

from servicekit.migrations import SchemaHistory
from services.gateway.dead_letter_store import DEAD_LETTER_TABLES
from services.gateway.rate_leases import RATE_TABLES
from services.gateway.store import GATEWAY_TABLES
from services.gateway.unanswered_creates import UNANSWERED_TABLES

SCHEMA = SchemaHistory(
    service="gateway",
    versions=Path(__file__).with_name("migrations"),
    tables=(*GATEWAY_TABLES, *DEAD_LETTER_TABLES, *RATE_TABLES, *UNANSWERED_TABLES),
)
