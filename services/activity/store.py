"""The activity log's rows and the names its users and teams were last seen under. Keyword-only
functions; the caller owns the transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Index,
    Table,
    bindparam,
    delete,
    func,
    or_,
    text,
    tuple_,
    union,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col, select

from contracts.activity import ActivityEntry, ListActivity
from servicekit.clock import as_utc
from services.activity.domain import GROUP, USER, Entry, name_key, parse_cursor


class ActivityRow(SQLModel, table=True):
    """One request outcome or event. Every query names the tenant and reads newest first, so each
    index leads with the tenant and ends with (occurred_at, entry_id), the keyset order."""

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_tenant_time", "tenant", "occurred_at", "entry_id"),
        Index("ix_activity_tenant_outcome_time", "tenant", "outcome", "occurred_at", "entry_id"),
        Index("ix_activity_tenant_resource_time", "tenant", "resource_id", "occurred_at", "entry_id"),
        Index("ix_activity_tenant_name_key_time", "tenant", "name_key", "occurred_at", "entry_id"),
        Index("ix_activity_tenant_correlation_time", "tenant", "correlation_id", "occurred_at", "entry_id"),
        Index("ix_activity_tenant_request", "tenant", "request_id"),  # a request id's correlation ids
        Index("ix_activity_occurred_at", "occurred_at"),  # the retention purge
    )

    entry_id: str = Field(primary_key=True)
    tenant: str
    occurred_at: datetime
    kind: str
    outcome: str
    summary: str
    correlation_id: str
    resource_type: str | None = None
    resource_id: str | None = None
    name: str | None = None
    name_key: str | None = None  # domain.name_key of ``name``: what a filter by name compares
    client: str | None = None
    method: str | None = None
    status: int | None = None
    scim_type: str | None = None
    detail: str | None = None
    duration_ms: float | None = None
    request_id: str | None = None


class KnownName(SQLModel, table=True):
    """The userName or group name a resource was last seen under: an event naming only an id (a
    deactivation) is still found by the name, and a filter by userName finds the id's entries."""

    __tablename__ = "activity_names"
    __table_args__ = (Index("ix_activity_names_tenant_name_key", "tenant", "resource_type", "name_key"),)

    tenant: str = Field(primary_key=True)
    resource_id: str = Field(primary_key=True)
    resource_type: str
    name: str
    name_key: str
    seen_at: datetime = Field(index=True)


ACTIVITY_TABLES: tuple[type[SQLModel], ...] = (ActivityRow, KnownName)


def record(session: Session, *, entry: Entry) -> None:
    """Store one entry, once: the same message seen again (a redelivery) changes nothing."""
    fields = {field.name: getattr(entry, field.name) for field in dataclasses.fields(entry)}
    if entry.resource_id and entry.resource_type in (USER, GROUP):
        if entry.name and entry.names_its_resource:
            session.execute(_REMEMBER[_dialect(session)], _known_name_row(entry))
        elif not entry.name:
            fields["name"] = session.execute(_KNOWN_NAME, _known_name_key(entry)).scalar()
    fields["name_key"] = name_key(fields["name"]) if fields["name"] else None
    session.execute(_RECORD[_dialect(session)], fields)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _known_name_key(entry: Entry) -> dict[str, Any]:
    return {"tenant": entry.tenant, "resource_id": entry.resource_id}


def _known_name_row(entry: Entry) -> dict[str, Any]:
    return {
        **_known_name_key(entry),
        "resource_type": entry.resource_type,
        "name": entry.name,
        "name_key": name_key(entry.name or ""),
        "seen_at": entry.occurred_at,
    }


# Statements built once, values bound per entry: an entry is a few statements, and building, cache-keying
# and flushing ORM objects for each cost more CPU than running them (BENCHMARKS.md, "… the activity log
# and the allowance in fewer statements").
_NAMES = KnownName.__table__  # type: ignore[attr-defined]
_KNOWN_NAME = select(_NAMES.c.name).where(
    _NAMES.c.tenant == bindparam("tenant"), _NAMES.c.resource_id == bindparam("resource_id")
)


def _record(insert: Callable[[Table], Any]) -> Executable:
    table = ActivityRow.__table__  # type: ignore[attr-defined]
    statement = insert(table).values({column.name: bindparam(column.name) for column in table.columns})
    return statement.on_conflict_do_nothing(index_elements=["entry_id"])  # type: ignore[no-any-return]


def _remember(insert: Callable[[Table], Any]) -> Executable:
    """The name an entry names its resource by, unless a later one is known already (events of one
    resource may be recorded out of order across topics)."""
    statement = insert(_NAMES).values({column.name: bindparam(column.name) for column in _NAMES.columns})
    newer = statement.excluded
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=["tenant", "resource_id"],
        set_={"name": newer.name, "name_key": newer.name_key, "seen_at": newer.seen_at},
        where=_NAMES.c.seen_at <= newer.seen_at,
    )


_RECORD = {"postgresql": _record(postgresql_insert), "sqlite": _record(sqlite_insert)}
_REMEMBER = {"postgresql": _remember(postgresql_insert), "sqlite": _remember(sqlite_insert)}


def _ids_named(session: Session, *, tenant: str, key: str, resource_type: str) -> list[str]:
    query = select(KnownName.resource_id).where(
        KnownName.tenant == tenant, KnownName.name_key == key, KnownName.resource_type == resource_type
    )
    return list(session.exec(query).all())


def _subjects(
    session: Session, *, tenant: str, value: str, resource_type: str
) -> Sequence[ColumnElement[bool]]:
    """Entries about one user or team, named by its id or by its (current or former) name in any
    letter case: each condition an equality one index serves in keyset order."""
    key = name_key(value)
    ids = sorted({value, *_ids_named(session, tenant=tenant, key=key, resource_type=resource_type)})
    about = [col(ActivityRow.resource_id) == resource_id for resource_id in ids]
    return [condition & (col(ActivityRow.resource_type) == resource_type) for condition in about] + [
        (col(ActivityRow.name_key) == key) & (col(ActivityRow.resource_type) == resource_type)
    ]


def _filters(session: Session, *, tenant: str, query: ListActivity) -> list[ColumnElement[bool]]:
    """Every condition but the subject's (user or team), the keyset position included."""
    conditions = [col(ActivityRow.tenant) == tenant]
    if query.since is not None:
        conditions.append(col(ActivityRow.occurred_at) >= query.since)
    if query.until is not None:
        conditions.append(col(ActivityRow.occurred_at) < query.until)
    if query.outcome is not None:
        conditions.append(col(ActivityRow.outcome) == query.outcome.value)
    if query.correlation_id is not None:
        conditions.append(col(ActivityRow.correlation_id) == query.correlation_id)
    if query.request_id is not None:  # the request's entries carry it; what it caused, its correlation id
        answered = select(ActivityRow.correlation_id).where(
            col(ActivityRow.tenant) == tenant, col(ActivityRow.request_id) == query.request_id
        )
        conditions.append(col(ActivityRow.correlation_id).in_(answered.scalar_subquery()))
    if query.user is not None and query.team is not None:  # both: entries about the two at once
        conditions.append(or_(*_subjects(session, tenant=tenant, value=query.team, resource_type=GROUP)))
    if query.after is not None:
        moment, entry_id = parse_cursor(query.after)
        keyset = tuple_(col(ActivityRow.occurred_at), col(ActivityRow.entry_id))
        conditions.append(keyset < tuple_(moment, entry_id))
    return conditions


_NEWEST_FIRST = (col(ActivityRow.occurred_at).desc(), col(ActivityRow.entry_id).desc())


def page(session: Session, *, tenant: str, query: ListActivity) -> tuple[list[ActivityEntry], bool]:
    """One page, newest first, and whether older entries remain.

    For a user or a team, each way of naming it (an id, the name) is read on its own index in keyset
    order, at most a page each, and the page is taken from their union: an ``OR`` of them would make
    the database walk the tenant's whole log in time order instead."""
    conditions = _filters(session, tenant=tenant, query=query)
    wanted = query.limit + 1
    subject = (query.user, USER) if query.user is not None else (query.team, GROUP)
    if subject[0] is not None:
        ways = _subjects(session, tenant=tenant, value=subject[0], resource_type=subject[1])
        branches = [
            select(ActivityRow.entry_id)
            .where(*conditions, way)
            .order_by(*_NEWEST_FIRST)
            .limit(wanted)
            .subquery()
            for way in ways
        ]
        chosen = union(*(select(branch.c.entry_id) for branch in branches))
        conditions = [col(ActivityRow.entry_id).in_(chosen)]
    statement = select(ActivityRow).where(*conditions).order_by(*_NEWEST_FIRST).limit(wanted)
    rows = session.exec(statement).all()
    names = _names_of_unnamed(session, tenant=tenant, rows=rows[: query.limit])
    return [_entry(row, names) for row in rows[: query.limit]], len(rows) > query.limit


def _names_of_unnamed(session: Session, *, tenant: str, rows: Sequence[ActivityRow]) -> dict[str, str]:
    """The known names of the users and teams of entries recorded without one: an entry that arrived
    before its name (a seat denied before the refused create's own record) is named as it is read, not
    by rewriting it when the name arrives. On PostgreSQL the two are recorded by two consumers whose
    transactions can cross, neither seeing the other's row, so a rewrite would miss it. A search by the
    name finds such an entry through the ids the name was seen with (``_subjects``)."""
    unnamed = sorted(
        {
            row.resource_id
            for row in rows
            if row.name is None and row.resource_id and row.resource_type in (USER, GROUP)
        }
    )
    if not unnamed:
        return {}
    query = select(KnownName.resource_id, KnownName.name).where(
        KnownName.tenant == tenant, col(KnownName.resource_id).in_(unnamed)
    )
    return {resource_id: name for resource_id, name in session.exec(query).all()}


def _entry(row: ActivityRow, names: dict[str, str]) -> ActivityEntry:
    fields = row.model_dump(exclude={"tenant", "name_key"})
    if row.name is None and row.resource_id is not None:
        fields["name"] = names.get(row.resource_id)
    return ActivityEntry.model_validate({**fields, "occurred_at": as_utc(row.occurred_at)})


def purge(session: Session, *, before: datetime, batch: int) -> int:
    """At most ``batch`` entries older than ``before`` (and names not seen since) removed; how many."""
    oldest = select(ActivityRow.entry_id).where(col(ActivityRow.occurred_at) < before).limit(batch)
    removed = session.execute(
        delete(ActivityRow).where(col(ActivityRow.entry_id).in_(oldest.scalar_subquery()))
    )
    session.execute(delete(KnownName).where(col(KnownName.seen_at) < before))
    return int(removed.rowcount or 0)  # type: ignore[attr-defined]


def count(session: Session, *, tenant: str) -> int:
    statement = text("SELECT count(*) FROM activity WHERE tenant = :tenant")
    return int(session.execute(statement, {"tenant": tenant}).scalar_one())


def oldest_entry(session: Session) -> datetime | None:
    """When the oldest entry kept occurred (the retention index answers it)."""
    return session.exec(select(func.min(ActivityRow.occurred_at))).one()
