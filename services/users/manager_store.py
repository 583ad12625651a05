"""The manager relation's tables and queries. Keyword-only functions; the caller owns the transaction.

Separate tables rather than new columns on ``users``: databases created before them keep working,
``create_all`` adds tables but never columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import zip_longest
from typing import Any

from sqlalchemy import ColumnElement, Index, String, bindparam, union, union_all
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from contracts.users import ManagerVia, RosterRole, UserRecord
from servicekit import locks
from servicekit.queries import in_chunks, select_in
from services.users import manager_rules
from services.users.attributes import ROSTER_URN, head_of
from services.users.manager_rules import Match, MatchedBy, ReferenceKeys
from services.users.search_index import UserAttributeRow, value_head
from services.users.store import UserRow, record_of


class UserManagerRow(SQLModel, table=True):
    """A user's manager reference (as sent, and its indexed key heads) and what it resolved to."""

    __tablename__ = "user_managers"
    __table_args__ = (
        Index("ix_user_managers_manager", "tenant", "manager_id"),
        Index("ix_user_managers_ref_exact", "tenant", "ref_exact"),
        Index("ix_user_managers_ref_folded", "tenant", "ref_folded"),
        Index("ix_user_managers_via", "tenant", "via"),
    )

    user_id: str = Field(primary_key=True)
    tenant: str
    reference: str | None = None
    ref_exact: str | None = Field(default=None, sa_type=String)
    ref_folded: str | None = Field(default=None, sa_type=String)
    manager_id: str | None = None
    via: str = ManagerVia.NONE.value


class ManagerDefaultsRow(SQLModel, table=True):
    """The tenant's default manager: the admin's choice, the first Coach ever added, and which of
    them (if any) is in effect now, so a change of the effective one is noticed."""

    __tablename__ = "manager_defaults"

    tenant: str = Field(primary_key=True)
    chosen_id: str | None = None
    first_coach_id: str | None = None
    effective_id: str | None = None


MANAGER_TABLES: tuple[type[SQLModel], ...] = (UserManagerRow, ManagerDefaultsRow)


def lock_tenant(session: Session, *, tenant: str) -> None:
    """Hold the tenant's manager relation until the transaction ends. Without it, a report and its
    manager created at once by two instances could each miss the other (PostgreSQL; SQLite has one
    writer)."""
    locks.hold(session, f"managers:{tenant}")


def defaults(session: Session, *, tenant: str) -> ManagerDefaultsRow:
    """The tenant's defaults row; a new, unsaved one if it has none yet."""
    return session.get(ManagerDefaultsRow, tenant) or ManagerDefaultsRow(tenant=tenant)


def save(session: Session, *, rows: Iterable[SQLModel]) -> None:
    session.add_all(list(rows))
    session.flush()


def links(session: Session, *, tenant: str, user_ids: Iterable[str]) -> dict[str, UserManagerRow]:
    query = select(UserManagerRow).where(UserManagerRow.tenant == tenant)
    return {row.user_id: row for row in select_in(session, query, UserManagerRow.user_id, user_ids)}


def forget(session: Session, *, tenant: str, user_id: str) -> None:
    row = session.get(UserManagerRow, user_id)
    if row is not None and row.tenant == tenant:
        session.delete(row)
        session.flush()


# The statements run on every user write are built once: building and cache-keying a statement
# costs more CPU than SQLite takes to run it (BENCHMARKS.md, "The users service's create path").
_LINKED_TO = select(UserManagerRow.user_id).where(
    UserManagerRow.tenant == bindparam("tenant"),
    UserManagerRow.manager_id == bindparam("manager_id"),
    UserManagerRow.via == ManagerVia.REFERENCE.value,
)


def _referencing(column: Any, heads: str) -> SelectOfScalar[str]:
    return select(UserManagerRow.user_id).where(
        UserManagerRow.tenant == bindparam("tenant"), col(column).in_(bindparam(heads, expanding=True))
    )


# One statement for both columns, each branch its own index seek: a create asks it once, not twice.
_REFERENCING = union(
    _referencing(UserManagerRow.ref_exact, "exact"), _referencing(UserManagerRow.ref_folded, "folded")
)


def linked_to(session: Session, *, tenant: str, manager_id: str) -> list[str]:
    """Users whose own reference designates ``manager_id``. Those who have them as the default manager
    are left out: they move only when the default does, and a busy default must not make every write
    of theirs re-resolve half the tenant."""
    return list(session.exec(_LINKED_TO, params={"tenant": tenant, "manager_id": manager_id}))


def referencing(session: Session, *, tenant: str, exact: set[str], folded: set[str]) -> list[str]:
    """Users whose reference may designate a user with these identifier heads (index lookups)."""
    found: set[str] = set()
    chunks = zip_longest(in_chunks(sorted(exact)), in_chunks(sorted(folded)), fillvalue=())
    for exact_heads, folded_heads in chunks:
        params = {"tenant": tenant, "exact": list(exact_heads), "folded": list(folded_heads)}
        found.update(session.execute(_REFERENCING, params).scalars())
    return sorted(found)


def on_default(session: Session, *, tenant: str) -> list[UserManagerRow]:
    """Users who have the default manager, or would have it if there were one."""
    vias = (ManagerVia.DEFAULT.value, ManagerVia.NONE.value)
    query = select(UserManagerRow).where(UserManagerRow.tenant == tenant, col(UserManagerRow.via).in_(vias))
    return list(session.exec(query))


def _equal_key(key: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """``value_key`` equal to ``key``, written as a closed range: SQLite would propagate the constant of
    ``value_key = ?`` into the head's expression and seek on (tenant, path) alone, reading every user's
    row (filters.py ``_matches`` says the same)."""
    value_key = col(UserAttributeRow.value_key)
    return value_key >= key, value_key <= key


def _matching(paths: dict[str, MatchedBy], key: str) -> Select[str, int | None, bool, str]:
    """Users with an identifier among ``paths`` equal to the parameter ``key`` (its head: ``key_head``)."""
    entry = UserAttributeRow
    return (
        select(col(UserRow.id), col(UserRow.seq), col(UserRow.active), col(entry.path))
        .join(UserRow, col(UserRow.seq) == col(entry.user_seq))
        .where(
            col(entry.tenant) == bindparam("tenant"),
            col(entry.path).in_(list(paths)),
            value_head(entry.value_key) == bindparam(f"{key}_head"),
            *_equal_key(bindparam(key)),
            col(UserRow.deleted_at).is_(None),
        )
    )


_MATCHES = union_all(
    _matching(manager_rules.EXACT_PATHS, "exact"), _matching(manager_rules.FOLDED_PATHS, "folded")
)
_PRIORITY = {**manager_rules.EXACT_PATHS, **manager_rules.FOLDED_PATHS}


def matches(session: Session, *, tenant: str, keys: ReferenceKeys) -> list[Match]:
    """The tenant's live users with an identifier equal to the reference, through the search index."""
    params = {"tenant": tenant, "exact": keys.exact, "folded": keys.folded}
    params.update(exact_head=head_of(keys.exact), folded_head=head_of(keys.folded))
    return [
        Match(user_id=user_id, seq=seq, matched_by=_PRIORITY[path], active=active)
        for user_id, seq, active, path in session.execute(_MATCHES, params)
    ]


# Where a Coach role shows in the search index: the Roster extension's role, or a SCIM roles value.
_ROLE_PATHS = (f"{ROSTER_URN.lower()}:role", "roles.value")


def earliest_coach(session: Session, *, tenant: str, excluding: str) -> str | None:
    """The earliest-added live user whose role is Coach (the index finds the candidates; the role
    rule — the extension first, else the primary SCIM role — decides)."""
    coach = RosterRole.COACH.value
    entry = UserAttributeRow
    query = (
        select(UserRow)
        .join(entry, col(UserRow.seq) == col(entry.user_seq))
        .where(
            col(entry.tenant) == tenant,
            col(entry.path).in_(_ROLE_PATHS),
            value_head(entry.value_key) == head_of(coach),
            *_equal_key(coach),
            col(UserRow.deleted_at).is_(None),
            col(UserRow.id) != excluding,
        )
        .order_by(col(UserRow.seq))
    )
    for row in session.exec(query):
        if record_of(row).profile.role == RosterRole.COACH:
            return row.id
    return None


def live_user_ids(session: Session, *, tenant: str, user_ids: Sequence[str]) -> set[str]:
    query = select(UserRow.id).where(UserRow.tenant == tenant, col(UserRow.deleted_at).is_(None))
    return set(select_in(session, query, UserRow.id, user_ids))


def unlinked_users(session: Session, *, limit: int) -> list[tuple[str, UserRecord]]:
    """Live users without a ``user_managers`` row (written before it existed), oldest first."""
    linked = select(UserManagerRow.user_id).where(col(UserManagerRow.user_id) == col(UserRow.id)).exists()
    query = (
        select(UserRow)
        .where(col(UserRow.deleted_at).is_(None), ~linked)
        .order_by(col(UserRow.seq))
        .limit(limit)
    )
    return [(row.tenant, record_of(row)) for row in session.exec(query)]
