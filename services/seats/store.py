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
    # Seats set aside for the users service and not yet reported taken (docs/architecture.md §4).
    allowance: int = Field(default=0, ge=0)
    # The seats held, kept with every take and release under this row's lock: a decision reads one
    # row, not a count of a 50,000-seat tenant.
    used: int = Field(default=0, ge=0)


class Seat(SQLModel, table=True):
    __tablename__ = "seats"

    tenant: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    reserved_at: datetime = Field(default_factory=utc_now)


class AllowanceRecall(SQLModel, table=True):
    """A limit change waiting for the users service to give its allowance back, and who to answer."""

    __tablename__ = "seat_allowance_recalls"

    recall_id: str = Field(primary_key=True)
    tenant: str = Field(index=True)
    reply_to: str | None = None
    correlation_id: str
    created_at: datetime = Field(default_factory=utc_now)


SEAT_TABLES: tuple[type[SQLModel], ...] = (SeatLimit, Seat, AllowanceRecall)


def lock_tenant(session: Session, *, tenant: str) -> SeatLimit:
    """The tenant's limit, with its row locked until the transaction ends.

    Every change to a tenant's seats takes this lock first, so on PostgreSQL two service instances
    (say, during a rebalance) can never both take the last seat. SQLite has one writer at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "INSERT INTO seat_limits (tenant, seat_limit, allowance, used) VALUES (:t, :l, 0, 0) "
                "ON CONFLICT DO NOTHING"
            ),
            {"t": tenant, "l": DEFAULT_SEAT_LIMIT},
        )
    elif session.get(SeatLimit, tenant) is None:
        session.add(SeatLimit(tenant=tenant, seat_limit=DEFAULT_SEAT_LIMIT))
        session.flush()
    return session.exec(select(SeatLimit).where(SeatLimit.tenant == tenant).with_for_update()).one()


def usage(session: Session, *, tenant: str) -> tuple[int, int]:
    """The tenant's limit and seats held, read without locking (for queries, which see one snapshot)."""
    row = session.get(SeatLimit, tenant)
    return (DEFAULT_SEAT_LIMIT, 0) if row is None else (row.seat_limit, row.used)


def save_tenant(session: Session, *, row: SeatLimit, limit: int, allowance: int) -> None:
    """The limit and allowance of a row ``lock_tenant`` returned."""
    row.seat_limit, row.allowance = limit, allowance
    session.add(row)


def recalling(session: Session, *, tenant: str) -> bool:
    query = select(AllowanceRecall.recall_id).where(AllowanceRecall.tenant == tenant).limit(1)
    return session.exec(query).first() is not None


def add_recall(
    session: Session, *, recall_id: str, tenant: str, reply_to: str | None, correlation_id: str
) -> None:
    session.add(
        AllowanceRecall(recall_id=recall_id, tenant=tenant, reply_to=reply_to, correlation_id=correlation_id)
    )


def pop_recalls(session: Session, *, recall_id: str) -> list[AllowanceRecall]:
    """The recall ``recall_id`` and any of the tenant's made before it, removed. Returns come back in
    the order the recalls went out (one partition each way), so an earlier recall still here when a
    later one is answered will never be: its event was set aside. Answered now, it does not stop
    the tenant's allowance for good."""
    recall = session.get(AllowanceRecall, recall_id)
    if recall is None:
        return []
    query = select(AllowanceRecall).where(
        AllowanceRecall.tenant == recall.tenant, col(AllowanceRecall.created_at) <= recall.created_at
    )
    answered = list(session.exec(query.order_by(col(AllowanceRecall.created_at))))
    for each in answered:
        session.delete(each)
    return answered


def holds_seat(session: Session, *, tenant: str, user_id: str) -> bool:
    return session.get(Seat, (tenant, user_id)) is not None


def take_seat(session: Session, *, row: SeatLimit, user_id: str) -> None:
    """A seat for ``user_id`` of the tenant ``row`` (from ``lock_tenant``) belongs to."""
    session.add(Seat(tenant=row.tenant, user_id=user_id))
    row.used += 1
    session.add(row)
    session.flush()


def free_seat(session: Session, *, row: SeatLimit, user_id: str) -> None:
    seat = session.get(Seat, (row.tenant, user_id))
    if seat is not None:
        session.delete(seat)
        row.used -= 1
        session.add(row)
        session.flush()


def counted_seats(session: Session, *, tenant: str) -> int:
    """The seats held, counted row by row (what ``SeatLimit.used`` keeps; for checks)."""
    return session.exec(select(func.count()).select_from(Seat).where(Seat.tenant == tenant)).one()


def seat_holders(session: Session, *, tenant: str, after: str | None, limit: int) -> Sequence[str]:
    """Up to ``limit`` holders after ``after`` in id order: a range scan of the primary key."""
    query = select(Seat.user_id).where(Seat.tenant == tenant)
    if after is not None:
        query = query.where(col(Seat.user_id) > after)
    return session.exec(query.order_by(col(Seat.user_id)).limit(limit)).all()
