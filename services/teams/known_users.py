"""The teams service's own view of users, as the users events describe them (never asked for).

Keyword-only; the caller owns the transaction. Read and written as plain values with statements built
once: the replica handles one of these per users event, and loading, tracking and flushing an ORM
object cost the teams service more CPU than the database took to run the statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Index, bindparam, insert, select, update
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
_COLUMNS = (
    _known.c.user_id,
    _known.c.user_name,
    _known.c.display_name,
    _known.c.active,
    _known.c.deleted,
    _known.c.manager_id,
)
_ONE = select(*_COLUMNS).where(
    _known.c.tenant == bindparam("of_tenant"), _known.c.user_id == bindparam("of_user")
)
_SOME = select(*_COLUMNS).where(
    _known.c.tenant == bindparam("of_tenant"), _known.c.user_id.in_(bindparam("of_users", expanding=True))
)
_FACTS = ("user_name", "display_name", "active", "deleted", "manager_id")
_INSERT = insert(_known)
_UPDATE = (
    update(_known)
    .where(_known.c.tenant == bindparam("of_tenant"), _known.c.user_id == bindparam("of_user"))
    .values({name: bindparam(f"to_{name}") for name in _FACTS})
)


def known_user(session: Session, *, tenant: str, user_id: str) -> KnownUser | None:
    found = session.execute(_ONE, {"of_tenant": tenant, "of_user": user_id}).first()
    return None if found is None else KnownUser(*found)


def known_users(session: Session, *, tenant: str, user_ids: Sequence[str]) -> dict[str, KnownUser]:
    found: dict[str, KnownUser] = {}
    for chunk in in_chunks(sorted(set(user_ids))):
        for row in session.execute(_SOME, {"of_tenant": tenant, "of_users": list(chunk)}):
            found[row.user_id] = KnownUser(*row)
    return found


def save_known_user(session: Session, *, tenant: str, user: KnownUser, stored: bool) -> None:
    """Write ``user``: an update of the stored row, or (``stored`` false) a new row — which fails
    inside the caller's transaction if another one stored the same user meanwhile."""
    if stored:
        facts = {f"to_{name}": getattr(user, name) for name in _FACTS}
        session.execute(_UPDATE, {"of_tenant": tenant, "of_user": user.user_id, **facts})
    else:
        facts = {name: getattr(user, name) for name in _FACTS}
        session.execute(_INSERT, {"tenant": tenant, "user_id": user.user_id, **facts})
