"""The users table and its queries, and what a userName write must not collide with (``claims``: users
and pending creates). Keyword-only functions; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    UniqueConstraint,
    bindparam,
    exists,
    func,
    insert,
)
from sqlalchemy.orm import aliased
from sqlmodel import JSON, Column, Field, Session, SQLModel, col, select

from contracts.users import UserProfile, UserRecord
from servicekit import locks
from servicekit.clock import as_utc
from services.users.domain import user_name_key
from services.users.pending import PendingChange
from services.users.search_index import (
    SEARCH_INDEX_TABLES,
    UserAttributeRow,
    forget_index,
    index_rows,
    insert_index_rows,
)


class UserRow(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant", "user_name_key", name="uq_users_tenant_user_name"),)

    # A monotonic sequence gives paging a stable order that never changes between pages.
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, index=True)
    tenant: str = Field(index=True)
    user_name: str
    # NULL once deleted: the userName is free again, while the row keeps the id from reuse.
    user_name_key: str | None
    external_id: str | None = Field(default=None, index=True)
    active: bool = True
    profile: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created: datetime
    last_modified: datetime
    version: int = 1
    deleted_at: datetime | None = None


USER_TABLES: tuple[type[SQLModel], ...] = (UserRow, *SEARCH_INDEX_TABLES)


def record_of(row: UserRow) -> UserRecord:
    return UserRecord(
        id=row.id,
        profile=UserProfile.model_validate(row.profile),
        created=as_utc(row.created),
        last_modified=as_utc(row.last_modified),
        version=row.version,
    )


def _live_row(session: Session, *, tenant: str, user_id: str, lock: bool = False) -> UserRow | None:
    query = select(UserRow).where(
        UserRow.tenant == tenant, UserRow.id == user_id, col(UserRow.deleted_at).is_(None)
    )
    return session.exec(query.with_for_update() if lock else query).first()


def get_user(session: Session, *, tenant: str, user_id: str) -> UserRecord | None:
    row = _live_row(session, tenant=tenant, user_id=user_id)
    return record_of(row) if row else None


def lock_user(session: Session, *, tenant: str, user_id: str) -> UserRecord | None:
    """The user, locked until the transaction ends: commands and saga steps about one user, even in
    two service instances, then happen one after the other (PostgreSQL; SQLite has one writer)."""
    row = _live_row(session, tenant=tenant, user_id=user_id, lock=True)
    return record_of(row) if row else None


# Statements of every create, built once: building and cache-keying one costs more CPU than SQLite
# takes to run it (BENCHMARKS.md, "The users service's create path").
_CLAIMS = select(
    select(UserRow.id)
    .where(UserRow.tenant == bindparam("tenant"), UserRow.user_name_key == bindparam("key"))
    .scalar_subquery(),
    select(PendingChange.user_id)
    .where(PendingChange.tenant == bindparam("tenant"), PendingChange.user_name_key == bindparam("key"))
    .scalar_subquery(),
    exists().where(col(UserRow.id) == bindparam("user_id")),
)
_USERS = UserRow.__table__  # type: ignore[attr-defined]
_INSERT_USER = insert(_USERS).returning(_USERS.c.seq)


@dataclass(frozen=True)
class Claims:
    """What a write of ``user_id`` with a userName must not collide with."""

    name_holder_id: str | None  # the user holding the name (unique per tenant)
    provisioning_id: str | None  # a change waiting for its seat that holds the name (unique too)
    id_used: bool  # whether ``user_id`` was ever used (ids are never reused, docs/architecture.md §2)


def claims(session: Session, *, tenant: str, user_name: str, user_id: str) -> Claims:
    """One statement, each part an index seek (a replace ignores ``id_used``). Call it after
    ``lock_user_name``."""
    params = {"tenant": tenant, "key": user_name_key(user_name), "user_id": user_id}
    holder, provisioning, used = session.execute(_CLAIMS, params).one()
    return Claims(name_holder_id=holder, provisioning_id=provisioning, id_used=bool(used))


def _columns(user: UserRecord) -> dict[str, Any]:
    profile = user.profile
    return {
        "user_name": profile.user_name,
        "user_name_key": user_name_key(profile.user_name),
        "external_id": profile.external_id,
        "active": profile.is_active,
        "profile": profile.model_dump(mode="json"),
        "last_modified": user.last_modified,
        "version": user.version,
    }


def _write(row: UserRow, user: UserRecord) -> UserRow:
    for name, value in _columns(user).items():
        setattr(row, name, value)
    return row


def add_user(session: Session, *, tenant: str, user: UserRecord) -> None:
    """Two table statements, no ORM object (none is read back in this transaction); a uniqueness race
    fails here, inside the handler's transaction."""
    values = {**_columns(user), "id": user.id, "tenant": tenant, "created": user.created, "deleted_at": None}
    seq = session.execute(_INSERT_USER, values).scalar_one()
    insert_index_rows(session, index_rows(seq=seq, tenant=tenant, user=user))


def add_users(session: Session, *, tenant: str, users: Sequence[UserRecord]) -> None:
    """Many new users at once (seeding, imports): two multi-row inserts, no ORM objects."""
    if not users:
        return
    values = [
        {
            **_columns(user),
            "id": user.id,
            "tenant": tenant,
            "created": user.created,
        }
        for user in users
    ]
    statement = insert(UserRow).returning(col(UserRow.seq), sort_by_parameter_order=True)
    seqs = session.execute(statement, values).scalars().all()
    rows = [
        row
        for seq, user in zip(seqs, users, strict=True)
        for row in index_rows(seq=seq, tenant=tenant, user=user)
    ]
    insert_index_rows(session, rows)


def replace_user(session: Session, *, tenant: str, user: UserRecord) -> None:
    row = _live_row(session, tenant=tenant, user_id=user.id)
    assert row is not None, "replace_user needs a user loaded in this transaction"
    session.add(_write(row, user))
    session.flush()
    assert row.seq is not None
    forget_index(session, seq=row.seq)
    insert_index_rows(session, index_rows(seq=row.seq, tenant=tenant, user=user))


def delete_user(session: Session, *, tenant: str, user_id: str, now: datetime) -> None:
    """Forget the user's attributes; keep the row so the id is never handed out again."""
    row = _live_row(session, tenant=tenant, user_id=user_id)
    assert row is not None, "delete_user needs a user loaded in this transaction"
    row.deleted_at = now
    row.user_name_key = None
    row.user_name = ""
    row.external_id = None
    row.active = False
    row.profile = {}
    session.add(row)
    session.flush()
    assert row.seq is not None
    forget_index(session, seq=row.seq)


@dataclass(frozen=True)
class SortOrder:
    """Order by the value of one indexed attribute (``attributes.Entry.sort``), then creation."""

    path: str
    descending: bool = False


def find_users(
    session: Session,
    *,
    tenant: str,
    condition: ColumnElement[bool] | None,
    offset: int,
    limit: int,
    sort: SortOrder | None = None,
) -> tuple[int, Sequence[UserRecord]]:
    """One page of the tenant's users matching ``condition``, and the total.

    In creation order, or by ``sort`` (RFC 7644 §3.4.2.3: users without a value last when
    ascending, first when descending); ties always in creation order, so pages are stable.
    """
    where: list[ColumnElement[bool]] = [UserRow.tenant == tenant, col(UserRow.deleted_at).is_(None)]  # type: ignore[list-item]
    if condition is not None:
        where.append(condition)
    query = select(UserRow).where(*where)
    in_creation_order = col(UserRow.seq).asc()
    if sort is None:
        query = query.order_by(in_creation_order)
    else:
        value = aliased(UserAttributeRow)
        query = query.outerjoin(
            value,
            (col(value.user_seq) == col(UserRow.seq)) & (col(value.path) == sort.path) & col(value.sort),
        )
        key = col(value.value_key)
        by_value = key.desc().nulls_first() if sort.descending else key.asc().nulls_last()
        query = query.order_by(by_value, in_creation_order)
    users = [record_of(row) for row in session.exec(query.offset(offset).limit(limit))] if limit else []
    if offset == 0 and len(users) < limit:
        return len(users), users  # the whole result (one snapshot): no count needed, as for most lookups
    return session.exec(select(func.count()).select_from(UserRow).where(*where)).one(), users


def users_named(
    session: Session, *, tenant: str, name_key: str, offset: int, limit: int
) -> tuple[int, Sequence[UserRecord]]:
    """``userName eq``'s answer, paged as ``find_users`` pages: the live user holding the name key (a
    deleted user's row holds none), by the unique index, with a statement built once."""
    params = {"tenant": tenant, "key": name_key}
    found = [record_of(row) for row in session.exec(_NAMED, params=params)]
    return len(found), found[offset : offset + limit]


_NAMED = select(UserRow).where(
    UserRow.tenant == bindparam("tenant"),
    UserRow.user_name_key == bindparam("key"),
    col(UserRow.deleted_at).is_(None),
)


def active_among(session: Session, *, tenant: str, user_ids: Iterable[str | None]) -> set[str]:
    """Which of ``user_ids`` (None ignored) are live, active users of the tenant: one indexed read, no
    record built; the statement is built once (every user write asks it for the default manager)."""
    wanted = sorted({user_id for user_id in user_ids if user_id is not None})
    if not wanted:
        return set()
    return set(session.execute(_ACTIVE_AMONG, {"of_tenant": tenant, "wanted": wanted}).scalars())


_ACTIVE_AMONG = select(UserRow.id).where(
    UserRow.tenant == bindparam("of_tenant"),
    col(UserRow.id).in_(bindparam("wanted", expanding=True)),
    col(UserRow.active).is_(True),
    col(UserRow.deleted_at).is_(None),
)


def active_user_ids(session: Session, *, tenant: str, after: str | None, limit: int) -> Sequence[str]:
    """Active, not deleted users of the tenant (those who must hold a seat): up to ``limit`` of them
    after ``after`` in id order."""
    query = select(UserRow.id).where(
        UserRow.tenant == tenant, col(UserRow.active).is_(True), col(UserRow.deleted_at).is_(None)
    )
    if after is not None:
        query = query.where(col(UserRow.id) > after)
    return session.exec(query.order_by(col(UserRow.id)).limit(limit)).all()


def lock_user_name(session: Session, *, tenant: str, user_name: str) -> None:
    """Hold (tenant, userName) until the transaction ends. A name is taken in two tables (users and
    pending creates); on PostgreSQL two instances could otherwise both find it free. SQLite: one writer."""
    locks.hold(session, f"user name:{tenant}:{user_name_key(user_name)}")
