"""Time as every store keeps it: aware datetimes in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored time read back: SQLite drops the zone, and every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
