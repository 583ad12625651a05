"""The teams service's own view of users, as the users events describe them (never asked for).

Keyword-only; the caller owns the transaction. Read and written as plain values with statements built
once: the replica handles one of these per users event, and loading, tracking and flushing an ORM
object cost the teams service more CPU than the database took to run the statements (BENCHMARKS.md,
"Fewer statements per users event in the teams service").

A row, once there, is never deleted (a deleted user's stays, marked): ``replica._place`` relies on it
to know that a user without one was never placed in a manager team.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

from sqlalchemy import Index, bindparam, select, text
from sqlmodel import Field, Session, SQLModel

from servicekit.queries import in_chunks


class KnownUserRow(SQLModel, table=True):
    __tablename__ = "known_users"
    __table_args__ = (Index("ix_known_users_tenant_manager", "tenant", "manager_id"),)

    tenant: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    user_name: str | None = None
    display_name: str | None = None
    active: bool = True
    deleted: bool = False
    manager_id: str | None = None


@dataclass(frozen=True)
class KnownUser:
    """One user of a tenant as the teams service last heard of them."""

    user_id: str
    user_name: str | None = None
    display_name: str | None = None
    active: bool = True
    deleted: bool = False
    manager_id: str | None = None


_known = KnownUserRow.__table__  # type: ignore[attr-defined]
_FIELDS = [field.name for field in fields(KnownUser)]
_COLUMNS = [_known.c[name] for name in _FIELDS]
_ONE = select(*_COLUMNS).where(
    _known.c.tenant == bindparam("of_tenant"), _known.c.user_id == bindparam("of_user")
)
_SOME = select(*_COLUMNS).where(
    _known.c.tenant == bindparam("of_tenant"), _known.c.user_id.in_(bindparam("of_users", expanding=True))
)
# The same SQL on PostgreSQL and SQLite. Saving is an upsert, not "insert if the read found none": a
# placeholder another transaction is adding (``hear_of``) is waited for and then updated, never a
# failed insert. A placeholder is a ``KnownUser`` with nothing but its id, added unless there is a row.
_INSERT = (
    f"INSERT INTO known_users (tenant, {', '.join(_FIELDS)})"
    f" VALUES (:tenant, {', '.join(f':{name}' for name in _FIELDS)})"
)
_SAVE = text(
    f"{_INSERT} ON CONFLICT (tenant, user_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _FIELDS if name != "user_id")
)
_HEAR_OF = text(f"{_INSERT} ON CONFLICT DO NOTHING")


def known_user(session: Session, *, tenant: str, user_id: str) -> KnownUser | None:
    found = session.execute(_ONE, {"of_tenant": tenant, "of_user": user_id}).first()
    return None if found is None else KnownUser(**found._mapping)


def known_users(session: Session, *, tenant: str, user_ids: Sequence[str]) -> dict[str, KnownUser]:
    found: dict[str, KnownUser] = {}
    for chunk in in_chunks(sorted(set(user_ids))):
        for row in session.execute(_SOME, {"of_tenant": tenant, "of_users": list(chunk)}):
            found[row.user_id] = KnownUser(**row._mapping)
    return found


def save_known_user(session: Session, *, tenant: str, user: KnownUser) -> None:
    session.execute(_SAVE, {"tenant": tenant, **asdict(user)})


def hear_of(session: Session, *, tenant: str, user_id: str) -> KnownUser:
    """The user as known, with a placeholder row (nothing known but the id) added if there is none.
    If another transaction is adding their row meanwhile (their own event, on another instance), this
    waits for it to commit and returns what it wrote."""
    session.execute(_HEAR_OF, {"tenant": tenant, **asdict(KnownUser(user_id=user_id))})
    found = known_user(session, tenant=tenant, user_id=user_id)
    assert found is not None, "the row exists: inserted here or by a committed transaction"
    return found
