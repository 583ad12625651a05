"""The users search index: one row per value a client sees on a live user, written in the same
transaction as the user (``store``), read by filters (``filters``, ``key_conditions``) and manager
resolution (``manager_store``), rebuilt by ``backfills`` when ``attributes.INDEX_VERSION`` changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    delete,
    func,
    insert,
    literal_column,
)
from sqlmodel import Column, Field, Session, SQLModel, col

from contracts.users import UserRecord
from services.users.attributes import HEAD_LENGTH, index_entries

# Keys compare in code point order, as Python (scim2-models) compares strings: PostgreSQL's "C"
# collation; SQLite's default BINARY already is. "C" also lets LIKE 'prefix%' use the btree.
_KEY_TEXT = Text().with_variant(Text(collation="C"), "postgresql")


class UserAttributeRow(SQLModel, table=True):
    """The search index: one row per value a client sees on a live user (``attributes.index_entries``).

    ``path`` is the attribute's canonical name (``username``, ``emails.value``, ``meta.created``,
    ``urn:…:enterprise:2.0:user:department``); ``element`` tells the elements of a multi-valued
    attribute apart, so that a value filter correlates the sub-attributes of one element.
    ``value_key`` is what comparisons use (``attributes.key_of``); NULL marks an element of a
    multi-valued complex attribute. Written in the same transaction as the user.
    """

    __tablename__ = "user_attributes"
    __table_args__ = (
        # Filters are index seeks on (tenant, attribute, value); the key's head keeps every index
        # entry within PostgreSQL's btree limit whatever a client sends.
        Index(
            "ix_user_attributes_lookup",
            "tenant",
            "path",
            func.substr(literal_column("value_key"), literal_column("1"), literal_column(str(HEAD_LENGTH))),
            "user_seq",
        ),
        {"sqlite_with_rowid": False},
    )

    user_seq: int = Field(
        sa_column=Column(Integer, ForeignKey("users.seq", ondelete="CASCADE"), primary_key=True)
    )
    path: str = Field(sa_column=Column(String, primary_key=True))
    element: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    tenant: str = Field(sa_column=Column(String, nullable=False))
    value_key: str | None = Field(default=None, sa_column=Column(_KEY_TEXT, nullable=True))
    sort: bool = Field(sa_column=Column(Boolean, nullable=False))


class SearchIndexState(SQLModel, table=True):
    """Which ``attributes.INDEX_VERSION`` wrote the search index (one row)."""

    __tablename__ = "user_search_index_state"

    id: int = Field(default=1, primary_key=True)
    version: int


SEARCH_INDEX_TABLES: tuple[type[SQLModel], ...] = (UserAttributeRow, SearchIndexState)


def value_head(value_key: Any) -> ColumnElement[str]:
    """The indexed head of a key column, spelled exactly as in ``ix_user_attributes_lookup``."""
    head: ColumnElement[str] = func.substr(value_key, literal_column("1"), literal_column(str(HEAD_LENGTH)))
    return head


def index_rows(*, seq: int, tenant: str, user: UserRecord) -> list[dict[str, Any]]:
    return [
        {
            "user_seq": seq,
            "path": entry.path,
            "element": entry.element,
            "tenant": tenant,
            "value_key": entry.key,
            "sort": entry.sort,
        }
        for entry in index_entries(user)
    ]


def insert_index_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """One executemany on the table: every row names every column, NULL keys included."""
    if rows:
        session.execute(_INSERT_ATTRIBUTES, rows)


def forget_index(session: Session, *, seq: int) -> None:
    session.execute(delete(UserAttributeRow).where(col(UserAttributeRow.user_seq) == seq))


_INSERT_ATTRIBUTES = insert(UserAttributeRow.__table__)  # type: ignore[attr-defined]
