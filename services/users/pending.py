"""Changes waiting for a seat (the create and reactivate sagas, docs/architecture.md §4).

A pending create is not in the users table at all — no read sees it — yet its userName is taken.
The row remembers who asked, so the answer can go out when the seats service has decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint, func
from sqlmodel import JSON, Column, Field, Session, SQLModel, col, select

from contracts.users import UserRecord
from servicekit.clock import utc_now
from servicekit.metrics import DatabaseGauge, seconds_since
from services.users.domain import user_name_key


class PendingKind(StrEnum):
    CREATE = "create"
    REACTIVATE = "reactivate"


class PendingChange(SQLModel, table=True):
    __tablename__ = "pending_user_changes"
    __table_args__ = (UniqueConstraint("tenant", "user_name_key", name="uq_pending_tenant_user_name"),)

    user_id: str = Field(primary_key=True)
    tenant: str = Field(index=True)
    kind: str
    user_name_key: str
    record: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the user as it will be
    expected_version: int | None = None
    reply_to: str | None = None
    correlation_id: str
    created_at: datetime = Field(default_factory=utc_now)

    @property
    def user(self) -> UserRecord:
        return UserRecord.model_validate(self.record)


PENDING_TABLES: tuple[type[SQLModel], ...] = (PendingChange,)


def new_change(
    *,
    tenant: str,
    kind: PendingKind,
    user: UserRecord,
    expected_version: int | None,
    reply_to: str | None,
    correlation_id: str,
) -> PendingChange:
    """The change as it would wait for a seat; not stored until ``park``."""
    return PendingChange(
        user_id=user.id,
        tenant=tenant,
        kind=kind.value,
        user_name_key=user_name_key(user.profile.user_name),
        record=user.model_dump(mode="json"),
        expected_version=expected_version,
        reply_to=reply_to,
        correlation_id=correlation_id,
    )


def park(session: Session, *, change: PendingChange) -> None:
    session.add(change)
    session.flush()  # a second pending create of the same userName fails here


def get_pending(session: Session, *, tenant: str, user_id: str) -> PendingChange | None:
    change = session.get(PendingChange, user_id)
    return change if change is not None and change.tenant == tenant else None


def remove_pending(session: Session, *, change: PendingChange) -> None:
    session.delete(change)
    session.flush()


def pending_user_ids(session: Session, *, tenant: str) -> Sequence[str]:
    return session.exec(select(PendingChange.user_id).where(PendingChange.tenant == tenant)).all()


def stale_changes(session: Session, *, older_than: datetime, limit: int = 500) -> Sequence[PendingChange]:
    """Changes waiting since before ``older_than``, oldest first. Rows a saga step is finishing right
    now are skipped (PostgreSQL ``SKIP LOCKED``), not waited for."""
    query = (
        select(PendingChange)
        .where(col(PendingChange.created_at) < older_than)
        .order_by(col(PendingChange.created_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.exec(query).all()


def _waiting(session: Session) -> float:
    return float(session.exec(select(func.count()).select_from(PendingChange)).one())


def _oldest_waiting_seconds(session: Session) -> float:
    return seconds_since(session.exec(select(func.min(PendingChange.created_at))).one())


SAGA_GAUGES = (
    DatabaseGauge(
        "roster_seat_sagas_pending", "Creates and reactivations waiting for a seat decision.", _waiting
    ),
    DatabaseGauge(
        "roster_seat_saga_oldest_pending_seconds",
        "How long the oldest change has waited for a seat decision (0 when none waits).",
        _oldest_waiting_seconds,
    ),
)
