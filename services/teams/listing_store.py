"""The SQL behind the group and team listings: which teams, in which order, which page.

Keyword-only and read-only; the caller owns the transaction. Groups are the SCIM and portal teams
(manager teams are not groups). Every order ends in creation order (``seq``), so pages are stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from contracts.teams import TeamRecord, TeamSource
from services.teams.store import TeamRow, members_by_team, team_record


@dataclass(frozen=True)
class Narrowing:
    """A filter's top-level equality, as the candidate teams' column values (an index seek)."""

    column: Literal["id", "external_id", "name_key"]
    values: tuple[str, ...]


class SortColumn(StrEnum):
    DISPLAY_NAME = "name_key"  # displayName is caseExact false: ordered by its comparison key
    EXTERNAL_ID = "external_id"
    ID = "id"
    CREATED = "created"
    LAST_MODIFIED = "last_modified"


@dataclass(frozen=True)
class GroupOrder:
    column: SortColumn
    descending: bool = False


def _groups(tenant: str) -> list[ColumnElement[bool]]:
    return [
        col(TeamRow.tenant) == tenant,
        col(TeamRow.source) != TeamSource.MANAGER.value,
        col(TeamRow.deleted_at).is_(None),
    ]


def _order_by(session: Session, order: GroupOrder | None) -> list[Any]:
    """RFC 7644 §3.4.2.3: teams without the value last when ascending, first when descending."""
    creation = col(TeamRow.seq).asc()
    if order is None:
        return [creation]
    column: Any = getattr(TeamRow, order.column.value)
    is_text = order.column not in (SortColumn.CREATED, SortColumn.LAST_MODIFIED)
    if is_text and session.get_bind().dialect.name == "postgresql":
        column = column.collate("C")  # code point order, as scim2-models compares; SQLite's BINARY is
    by_value = column.desc().nulls_first() if order.descending else column.asc().nulls_last()
    return [by_value, creation]


def count_groups(session: Session, *, tenant: str) -> int:
    return session.exec(select(func.count()).select_from(TeamRow).where(*_groups(tenant))).one()


def page_groups(
    session: Session, *, tenant: str, order: GroupOrder | None, offset: int, limit: int
) -> list[TeamRow]:
    query = select(TeamRow).where(*_groups(tenant)).order_by(*_order_by(session, order))
    return list(session.exec(query.offset(offset).limit(limit)))


def group_candidates(
    session: Session, *, tenant: str, narrowing: Narrowing | None, order: GroupOrder | None
) -> list[TeamRow]:
    """Every group a filter may match: those with the narrowing's value, else all of the tenant's."""
    where = _groups(tenant)
    if narrowing is not None:
        where.append(col(getattr(TeamRow, narrowing.column)).in_(narrowing.values))
    return list(session.exec(select(TeamRow).where(*where).order_by(*_order_by(session, order))))


def teams_of_source(
    session: Session, *, tenant: str, source: TeamSource | None, offset: int, limit: int
) -> tuple[int, list[TeamRow]]:
    """One page of the tenant's teams (of one source), in creation order, and how many there are."""
    where = [col(TeamRow.tenant) == tenant, col(TeamRow.deleted_at).is_(None)]
    if source is not None:
        where.append(col(TeamRow.source) == source.value)
    total = session.exec(select(func.count()).select_from(TeamRow).where(*where)).one()
    query = select(TeamRow).where(*where).order_by(col(TeamRow.seq)).offset(offset).limit(limit)
    return total, list(session.exec(query))


def team_records(
    session: Session, *, rows: Sequence[TeamRow], include_members: bool, members_up_to: int | None = None
) -> list[TeamRecord]:
    """The teams as replies carry them, the members of all of them read at once; a team above
    ``members_up_to`` members without them (``members`` None)."""
    records = [team_record(session, row=row, include_members=False, members_up_to=0) for row in rows]
    if not include_members:
        return records
    listed = [row for row in rows if members_up_to is None or row.member_count <= members_up_to]
    members = members_by_team(session, rows=listed)
    return [
        record.model_copy(update={"members": tuple(members[row.seq])})
        if row.seq is not None and row.seq in members
        else record
        for record, row in zip(records, rows, strict=True)
    ]
