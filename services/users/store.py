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
    user_name_key: str
    external_id: str | None = Field(default=None, index=True)
    active: bool = True
    profile: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created: datetime
    last_modified: datetime
    version: int = 1


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


def get_user(session: Session, *, tenant: str, user_id: str) -> UserRecord | None:
    row = session.exec(select(UserRow).where(UserRow.tenant == tenant, UserRow.id == user_id)).first()
    return _record(row) if row else None


def user_id_holding_name(session: Session, *, tenant: str, user_name: str) -> str | None:
    query = select(UserRow.id).where(
        UserRow.tenant == tenant, UserRow.user_name_key == user_name_key(user_name)
    )
    return session.exec(query).first()


def add_user(session: Session, *, tenant: str, user: UserRecord) -> None:
    profile = user.profile
    session.add(
        UserRow(
            id=user.id,
            tenant=tenant,
            user_name=profile.user_name,
            user_name_key=user_name_key(profile.user_name),
            external_id=profile.external_id,
            active=profile.active,
            profile=profile.model_dump(mode="json"),
            created=user.created,
            last_modified=user.last_modified,
            version=user.version,
        )
    )
    session.flush()  # surfaces a uniqueness race now, inside the handler's transaction


def find_users(
    session: Session,
    *,
    tenant: str,
    condition: ColumnElement[bool] | None,
    offset: int,
    limit: int,
) -> tuple[int, Sequence[UserRecord]]:
    """One page of the tenant's users matching ``condition``, in creation order, and the total."""
    where: list[ColumnElement[bool]] = [UserRow.tenant == tenant]  # type: ignore[list-item]
    if condition is not None:
        where.append(condition)
    total = session.exec(select(func.count()).select_from(UserRow).where(*where)).one()
    if limit == 0:
        return total, []
    in_creation_order = col(UserRow.seq).asc()
    rows = session.exec(select(UserRow).where(*where).order_by(in_creation_order).offset(offset).limit(limit))
    return total, [_record(row) for row in rows]
