"""The seats the seats service set aside for this service (docs/architecture.md §4): a user becoming
active takes one here, in the transaction that activates them, instead of waiting for a seat
decision. Keyword-only functions; the caller owns the transaction."""

from __future__ import annotations

from sqlalchemy import bindparam, text, update
from sqlmodel import Field, Session, SQLModel, select


class SeatAllowance(SQLModel, table=True):
    __tablename__ = "seat_allowances"

    tenant: str = Field(primary_key=True)
    unspent: int = Field(default=0, ge=0)


ALLOWANCE_TABLES: tuple[type[SQLModel], ...] = (SeatAllowance,)


def _locked(session: Session, tenant: str) -> SeatAllowance | None:
    """The tenant's row, locked until the transaction ends: two instances never spend one seat twice.
    SQLite has one writer at a time."""
    query = select(SeatAllowance).where(SeatAllowance.tenant == tenant).with_for_update()
    return session.exec(query).first()


def spend(session: Session, *, tenant: str) -> bool:
    """Take one seat of the allowance, if any is left: one conditional decrement, which holds the row
    until the transaction ends (PostgreSQL's row lock; SQLite has one writer at a time), so two
    instances never spend one seat twice."""
    session.flush()  # a change of the row still in the session would otherwise overwrite the decrement
    return session.execute(_SPEND_ONE, {"spender": tenant}).first() is not None


_ALLOWANCES = SeatAllowance.__table__  # type: ignore[attr-defined]
# Built once, the tenant bound per create: every create within the allowance runs it.
_SPEND_ONE = (
    update(_ALLOWANCES)
    .where(_ALLOWANCES.c.tenant == bindparam("spender"), _ALLOWANCES.c.unspent > 0)
    .values(unspent=_ALLOWANCES.c.unspent - 1)
    .returning(_ALLOWANCES.c.unspent)
)


def add(session: Session, *, tenant: str, amount: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("INSERT INTO seat_allowances (tenant, unspent) VALUES (:t, 0) ON CONFLICT DO NOTHING"),
            {"t": tenant},
        )
    row = _locked(session, tenant)
    if row is None:
        row = SeatAllowance(tenant=tenant, unspent=0)
    row.unspent += amount
    session.add(row)


def take_all(session: Session, *, tenant: str) -> int:
    """Empty the allowance (it goes back to the seats service) and say how much was left."""
    row = _locked(session, tenant)
    if row is None:
        return 0
    left, row.unspent = row.unspent, 0
    session.add(row)
    return left


def unspent(session: Session, *, tenant: str) -> int:
    row = session.get(SeatAllowance, tenant)
    return 0 if row is None else row.unspent
