"""Seat limits and the seats held. Keyword-only functions; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Update, bindparam, delete, exists, func, insert, text, update
from sqlalchemy import select as core_select
from sqlmodel import Field, Session, SQLModel, col, select

from servicekit.clock import utc_now
from services.seats.domain import DEFAULT_SEAT_LIMIT, AllowanceBook, SeatState


class SeatLimit(SQLModel, table=True):
    __tablename__ = "seat_limits"

    tenant: str = Field(primary_key=True)
    seat_limit: int = Field(ge=0)
    # Seats set aside for the users service and not yet reported taken (docs/architecture.md §4).
    allowance: int = Field(default=0, ge=0)
    # The seats held, kept with every take and release under this row's lock: a decision reads one
    # row, not a count of a 50,000-seat tenant.
    used: int = Field(default=0, ge=0)
    # Recalls of the allowance so far, and the users service's last counted return (domain.AllowanceBook).
    allowance_round: int = Field(default=0, ge=0)
    answered_round: int = Field(default=0, ge=0)
    granted_since_return: int = Field(default=0, ge=0)
    returned_seen: int = Field(default=0, ge=0)


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


@dataclass(frozen=True)
class TenantSeats:
    """A tenant's limit row as ``lock_tenant`` read it."""

    seat_limit: int
    allowance: int
    used: int
    round: int  # recalls of the allowance so far


# Core statements, not ORM objects: a seat decision is a handful of single-row statements, and loading,
# tracking and flushing objects cost the seats service more CPU than SQLite took to run them.
_limits = SeatLimit.__table__  # type: ignore[attr-defined]
_seats = Seat.__table__  # type: ignore[attr-defined]
_recalls = AllowanceRecall.__table__  # type: ignore[attr-defined]


def lock_tenant(session: Session, *, tenant: str) -> TenantSeats:
    """The tenant's limit, with its row locked until the transaction ends (created at the default
    limit if the tenant has none yet).

    Every change to a tenant's seats takes this lock first, so on PostgreSQL two service instances
    (say, during a rebalance) can never both take the last seat. SQLite has one writer at a time.
    """
    found = session.execute(_LOCK, {"of_tenant": tenant}).first()
    if found is None:
        session.execute(_INSERT_DEFAULT, {"new_tenant": tenant, "default_limit": DEFAULT_SEAT_LIMIT})
        found = session.execute(_LOCK, {"of_tenant": tenant}).one()
    seat_limit, allowance, used, round = found
    return TenantSeats(seat_limit, allowance, used, round)


def seat_state(session: Session, *, tenant: str, user_id: str) -> SeatState:
    """What a decision about ``user_id``'s seat rests on: ``lock_tenant``, then whether the user holds a
    seat and whether a recall is under way — read after the lock, in a statement of its own: on
    PostgreSQL a statement that waited for a row lock sees the locked row's latest version, but its
    subqueries only what was committed when it began."""
    row = lock_tenant(session, tenant=tenant)
    holds, recalling = session.execute(_HOLDS_AND_RECALLING, {"of_tenant": tenant, "of_user": user_id}).one()
    return SeatState(
        user_id=user_id,
        holds=bool(holds),
        used=row.used,
        limit=row.seat_limit,
        allowance=row.allowance,
        recalling=bool(recalling),
        round=row.round,
    )


_LOCK = (
    core_select(_limits.c.seat_limit, _limits.c.allowance, _limits.c.used, _limits.c.allowance_round)
    .where(_limits.c.tenant == bindparam("of_tenant"))
    .with_for_update()
)
_RECALLING = exists().where(_recalls.c.tenant == bindparam("of_tenant"))
_HOLDS_AND_RECALLING = core_select(
    exists().where(_seats.c.tenant == bindparam("of_tenant"), _seats.c.user_id == bindparam("of_user")),
    _RECALLING,
)
# The same SQL on PostgreSQL and SQLite; a concurrent first insert wins, and the lock then waits for it.
_INSERT_DEFAULT = text(
    "INSERT INTO seat_limits (tenant, seat_limit, allowance, used, allowance_round, answered_round,"
    " granted_since_return, returned_seen) VALUES (:new_tenant, :default_limit, 0, 0, 0, 0, 0, 0)"
    " ON CONFLICT DO NOTHING"
)


def usage(session: Session, *, tenant: str) -> tuple[int, int, int]:
    """The tenant's limit, seats held and seats set aside (the allowance), read without locking (for
    queries, which see one snapshot)."""
    row = session.get(SeatLimit, tenant)
    return (DEFAULT_SEAT_LIMIT, 0, 0) if row is None else (row.seat_limit, row.used, row.allowance)


def save_tenant(session: Session, *, tenant: str, limit: int, allowance: int) -> None:
    """The limit and allowance of a tenant ``lock_tenant`` locked."""
    session.execute(_SAVE_TENANT, {"of_tenant": tenant, "new_limit": limit, "new_allowance": allowance})


_SAVE_TENANT = (
    update(_limits)
    .where(_limits.c.tenant == bindparam("of_tenant"))
    .values(seat_limit=bindparam("new_limit"), allowance=bindparam("new_allowance"))
)


def count_grant(session: Session, *, tenant: str, amount: int) -> None:
    """``amount`` more seats granted since the last counted return (the caller holds ``lock_tenant``)."""
    granted = _limits.c.granted_since_return + amount
    session.execute(update(_limits).where(_limits.c.tenant == tenant).values(granted_since_return=granted))


def add_recall(
    session: Session, *, recall_id: str, tenant: str, round: int, reply_to: str | None, correlation_id: str
) -> None:
    """A recall of round ``round`` waiting for its answer (the caller holds ``lock_tenant``)."""
    session.execute(update(_limits).where(_limits.c.tenant == tenant).values(allowance_round=round))
    session.add(
        AllowanceRecall(recall_id=recall_id, tenant=tenant, reply_to=reply_to, correlation_id=correlation_id)
    )


def recalling(session: Session, *, tenant: str) -> bool:
    return bool(session.execute(core_select(_RECALLING), {"of_tenant": tenant}).scalar_one())


def allowance_book(session: Session, *, tenant: str) -> AllowanceBook:
    """The last counted return, of a tenant ``lock_tenant`` locked."""
    columns = (_limits.c.answered_round, _limits.c.granted_since_return, _limits.c.returned_seen)
    answered_round, granted, returned = session.execute(
        core_select(*columns).where(_limits.c.tenant == tenant)
    ).one()
    return AllowanceBook(answered_round, granted, returned)


def save_allowance_book(session: Session, *, tenant: str, book: AllowanceBook) -> None:
    values = {"answered_round": book.answered_round, "granted_since_return": book.granted,
              "returned_seen": book.returned}  # fmt: skip
    session.execute(update(_limits).where(_limits.c.tenant == tenant).values(**values))


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


def take_seat(session: Session, *, tenant: str, user_id: str) -> None:
    """A seat for ``user_id``, counted in the tenant's ``used`` (the caller holds ``lock_tenant``)."""
    session.execute(_TAKE, {"tenant": tenant, "user_id": user_id, "reserved_at": utc_now()})
    session.execute(_ONE_MORE_HELD, {"of_tenant": tenant})


def spend_allowance(session: Session, *, tenant: str, left: int, taken_by: str | None) -> None:
    """One seat of the allowance spent: ``left`` remain set aside and, when the allowance paid for
    ``taken_by``'s seat, that seat is taken and counted, in one update of the tenant's row (the caller
    holds ``lock_tenant``)."""
    if taken_by is not None:
        session.execute(_TAKE, {"tenant": tenant, "user_id": taken_by, "reserved_at": utc_now()})
    session.execute(_SPEND, {"of_tenant": tenant, "left": left, "more_held": int(taken_by is not None)})


_SPEND = (
    update(_limits)
    .where(_limits.c.tenant == bindparam("of_tenant"))
    .values(allowance=bindparam("left"), used=_limits.c.used + bindparam("more_held"))
)


def free_seat(session: Session, *, tenant: str, user_id: str) -> None:
    """``user_id``'s seat, if they hold one, no longer counted (the caller holds ``lock_tenant``)."""
    if session.execute(_FREE, {"of_tenant": tenant, "of_user": user_id}).rowcount:  # type: ignore[attr-defined]
        session.execute(_ONE_FEWER_HELD, {"of_tenant": tenant})


_TAKE = insert(_seats)
_FREE = delete(_seats).where(
    _seats.c.tenant == bindparam("of_tenant"), _seats.c.user_id == bindparam("of_user")
)


def _counting(change: int) -> Update:
    held = _limits.c.used + change
    return update(_limits).where(_limits.c.tenant == bindparam("of_tenant")).values(used=held)


_ONE_MORE_HELD, _ONE_FEWER_HELD = _counting(+1), _counting(-1)


def counted_seats(session: Session, *, tenant: str) -> int:
    """The seats held, counted row by row (what ``SeatLimit.used`` keeps; for checks)."""
    return session.exec(select(func.count()).select_from(Seat).where(Seat.tenant == tenant)).one()


def seat_holders(session: Session, *, tenant: str, after: str | None, limit: int) -> Sequence[str]:
    """Up to ``limit`` holders after ``after`` in id order: a range scan of the primary key."""
    query = select(Seat.user_id).where(Seat.tenant == tenant)
    if after is not None:
        query = query.where(col(Seat.user_id) > after)
    return session.exec(query.order_by(col(Seat.user_id)).limit(limit)).all()
