"""The users table and its queries. Keyword-only functions; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, UniqueConstraint, func
from sqlmodel import JSON, Column, Field, Session, SQLModel, col, select

from contracts.users import UserProfile, UserRecord
from services.users.domain import user_name_key


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


USER_TABLES: tuple[type[SQLModel], ...] = (UserRow,)


def _utc(moment: datetime) -> datetime:
    # SQLite drops the zone; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _record(row: UserRow) -> UserRecord:
    return UserRecord(
        id=row.id,
        profile=UserProfile.model_validate(row.profile),
        created=_utc(row.created),
        last_modified=_utc(row.last_modified),
        version=row.version,
    )


def _live_row(session: Session, *, tenant: str, user_id: str) -> UserRow | None:
    query = select(UserRow).where(
        UserRow.tenant == tenant, UserRow.id == user_id, col(UserRow.deleted_at).is_(None)
    )
    return session.exec(query).first()


def get_user(session: Session, *, tenant: str, user_id: str) -> UserRecord | None:
    row = _live_row(session, tenant=tenant, user_id=user_id)
    return _record(row) if row else None


def id_ever_used(session: Session, *, user_id: str) -> bool:
    return session.exec(select(UserRow.seq).where(UserRow.id == user_id)).first() is not None


def user_id_holding_name(session: Session, *, tenant: str, user_name: str) -> str | None:
    query = select(UserRow.id).where(
        UserRow.tenant == tenant, UserRow.user_name_key == user_name_key(user_name)
    )
    return session.exec(query).first()


def _write(row: UserRow, user: UserRecord) -> UserRow:
    profile = user.profile
    row.user_name = profile.user_name
    row.user_name_key = user_name_key(profile.user_name)
    row.external_id = profile.external_id
    row.active = profile.is_active
    row.profile = profile.model_dump(mode="json")
    row.last_modified = user.last_modified
    row.version = user.version
    return row


def add_user(session: Session, *, tenant: str, user: UserRecord) -> None:
    row = UserRow(
        id=user.id,
        tenant=tenant,
        user_name="",
        user_name_key=None,
        profile={},
        created=user.created,
        last_modified=user.last_modified,
    )
    session.add(_write(row, user))
    session.flush()  # surfaces a uniqueness race now, inside the handler's transaction


def replace_user(session: Session, *, tenant: str, user: UserRecord) -> None:
    row = _live_row(session, tenant=tenant, user_id=user.id)
    assert row is not None, "replace_user needs a user loaded in this transaction"
    session.add(_write(row, user))
    session.flush()


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


def find_users(
    session: Session,
    *,
    tenant: str,
    condition: ColumnElement[bool] | None,
    offset: int,
    limit: int,
) -> tuple[int, Sequence[UserRecord]]:
    """One page of the tenant's users matching ``condition``, in creation order, and the total."""
    where: list[ColumnElement[bool]] = [UserRow.tenant == tenant, col(UserRow.deleted_at).is_(None)]  # type: ignore[list-item]
    if condition is not None:
        where.append(condition)
    total = session.exec(select(func.count()).select_from(UserRow).where(*where)).one()
    if limit == 0:
        return total, []
    in_creation_order = col(UserRow.seq).asc()
    rows = session.exec(select(UserRow).where(*where).order_by(in_creation_order).offset(offset).limit(limit))
    return total, [_record(row) for row in rows]
