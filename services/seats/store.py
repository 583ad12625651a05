"""Seat limits and the seats held. Keyword-only functions; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, text
from sqlmodel import Field, Session, SQLModel, col, select

from servicekit.clock import utc_now
from services.seats.domain import DEFAULT_SEAT_LIMIT


class SeatLimit(SQLModel, table=True):
    __tablename__ = "seat_limits"

    tenant: str = Field(primary_key=True)
    seat_limit: int = Field(ge=0)


class Seat(SQLModel, table=True):
    __tablename__ = "seats"

    tenant: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    reserved_at: datetime = Field(default_factory=utc_now)


SEAT_TABLES: tuple[type[SQLModel], ...] = (SeatLimit, Seat)


def lock_tenant(session: Session, *, tenant: str) -> int:
    """The tenant's limit, with its row locked until the transaction ends.

    Every change to a tenant's seats takes this lock first, so on PostgreSQL two service instances
    (say, during a rebalance) can never both take the last seat. SQLite has one writer at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("INSERT INTO seat_limits (tenant, seat_limit) VALUES (:t, :l) ON CONFLICT DO NOTHING"),
            {"t": tenant, "l": DEFAULT_SEAT_LIMIT},
        )
    elif session.get(SeatLimit, tenant) is None:
        session.add(SeatLimit(tenant=tenant, seat_limit=DEFAULT_SEAT_LIMIT))
        session.flush()
    row = session.exec(select(SeatLimit).where(SeatLimit.tenant == tenant).with_for_update()).one()
    return row.seat_limit


def limit_of(session: Session, *, tenant: str) -> int:
    """The tenant's limit, read without locking (for queries, which see one snapshot)."""
    row = session.get(SeatLimit, tenant)
    return DEFAULT_SEAT_LIMIT if row is None else row.seat_limit


def set_limit(session: Session, *, tenant: str, limit: int) -> None:
    row = session.get(SeatLimit, tenant)
    assert row is not None, "lock_tenant first"
    row.seat_limit = limit
    session.add(row)


def seats_used(session: Session, *, tenant: str) -> int:
    return session.exec(select(func.count()).select_from(Seat).where(Seat.tenant == tenant)).one()


def holds_seat(session: Session, *, tenant: str, user_id: str) -> bool:
    return session.get(Seat, (tenant, user_id)) is not None


def take_seat(session: Session, *, tenant: str, user_id: str) -> None:
    session.add(Seat(tenant=tenant, user_id=user_id))
    session.flush()


def free_seat(session: Session, *, tenant: str, user_id: str) -> None:
    seat = session.get(Seat, (tenant, user_id))
    if seat is not None:
        session.delete(seat)
        session.flush()


def seat_holders(session: Session, *, tenant: str, after: str | None, limit: int) -> Sequence[str]:
    """Up to ``limit`` holders after ``after`` in id order: a range scan of the primary key."""
    query = select(Seat.user_id).where(Seat.tenant == tenant)
    if after is not None:
        query = query.where(col(Seat.user_id) > after)
    return session.exec(query.order_by(col(Seat.user_id)).limit(limit)).all()
