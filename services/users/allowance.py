"""The seats the seats service set aside for this service (docs/architecture.md §4): a user becoming
active takes one here, in the transaction that activates them, instead of waiting for a seat
decision. Keyword-only functions; the caller owns the transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import bindparam, text, update
from sqlmodel import Field, Session, SQLModel, select

log = logging.getLogger(__name__)


class SeatAllowance(SQLModel, table=True):
    __tablename__ = "seat_allowances"

    tenant: str = Field(primary_key=True)
    unspent: int = Field(default=0, ge=0)
    # The round of the last recall answered: a grant from an earlier round was freed by that answer.
    round: int = Field(default=0, ge=0)
    # Running totals the seats service counts a return against (docs/architecture.md §4).
    received_total: int = Field(default=0, ge=0)
    returned_total: int = Field(default=0, ge=0)


@dataclass(frozen=True)
class Returned:
    """What a recall's answer gives back, and the totals it is counted against."""

    amount: int
    received_total: int
    returned_total: int


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


def _locked_or_new(session: Session, tenant: str) -> SeatAllowance:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("INSERT INTO seat_allowances (tenant, unspent, round, received_total, returned_total)"
                 " VALUES (:t, 0, 0, 0, 0) ON CONFLICT DO NOTHING"),
            {"t": tenant},
        )  # fmt: skip
    row = _locked(session, tenant)
    return SeatAllowance(tenant=tenant) if row is None else row


def add(session: Session, *, tenant: str, amount: int, granted_in: int = 0) -> bool:
    """Hold ``amount`` more seats, unless they were granted before the last recall answered
    (``granted_in`` is their round): that answer told the seats service they never arrived, and it
    counts them free again — a grant set aside then replayed must not be spent as well."""
    row = _locked_or_new(session, tenant)
    if granted_in < row.round:
        log.warning(
            "a seat allowance of %d granted before recall %d was answered is ignored: its seats are free",
            amount, row.round,
        )  # fmt: skip
        return False
    row.unspent += amount
    row.received_total += amount
    session.add(row)
    return True


def take_all(session: Session, *, tenant: str, recall_round: int = 0) -> Returned | None:
    """Empty the allowance (it goes back to the seats service) and say how much was left, with the
    totals; None for a recall older than one already answered (set aside, then replayed): the seats
    service counted that one's seats with the later answer."""
    row = _locked_or_new(session, tenant)
    if recall_round < row.round:
        return None
    returned = Returned(row.unspent, row.received_total, row.returned_total + row.unspent)
    row.unspent, row.returned_total, row.round = 0, returned.returned_total, recall_round
    session.add(row)
    return returned


def unspent(session: Session, *, tenant: str) -> int:
    row = session.get(SeatAllowance, tenant)
    return 0 if row is None else row.unspent
