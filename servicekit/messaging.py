"""Inbox and outbox tables (eventsourcing's "processed message" record + new events, one commit).

Every service database holds both. A handler's state change, its inbox row and the messages it
emits are committed together; the relay publishes the outbox afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import Executable, Index, LargeBinary, Table, bindparam, delete, insert, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import JSON, Column, Field, Session, SQLModel, col

from contracts.envelope import Envelope
from servicekit import tracing
from servicekit.clock import utc_now


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox"

    message_id: UUID = Field(primary_key=True)
    message_type: str
    processed_at: datetime = Field(default_factory=utc_now)


class OutboxEntry(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unpublished",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    topic: str
    key: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utc_now)
    published_at: datetime | None = None


MESSAGING_TABLES: tuple[type[SQLModel], ...] = (InboxEntry, OutboxEntry)


class OutboundRecord(NamedTuple):
    """A record to publish: an outbox row the relay claimed, or a query's reply sent at once (``id``
    None: never stored). A plain tuple, not an ``OutboxEntry``: loading ORM objects cost the relay
    three times the CPU of its claim's query, and nothing here changes the row."""

    id: int | None
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str]


def already_processed(session: Session, *, message_id: UUID) -> bool:
    return session.get(InboxEntry, message_id) is not None


def record_processed(session: Session, *, envelope: Envelope) -> None:
    session.add(InboxEntry(message_id=envelope.message_id, message_type=envelope.type))


def record_first_time(session: Session, *, envelope: Envelope) -> bool:
    """Record the message in the inbox; False when it already was (a redelivery: do nothing).

    One ``INSERT … ON CONFLICT DO NOTHING`` instead of a read and then a write: on PostgreSQL a
    second instance handling the same message at the same moment waits on the first one's row and
    then skips, instead of running the handler and failing at commit."""
    statement = _INBOX_INSERTS[session.get_bind().dialect.name]
    values = {"message_id": envelope.message_id, "message_type": envelope.type, "processed_at": utc_now()}
    return session.execute(statement, values).first() is not None


def _inbox_insert(insert: Callable[[Table], Any]) -> Executable:
    # Built once per dialect, values bound per message: building and cache-keying the statement for
    # every message cost more CPU than the database takes to run it (BENCHMARKS.md, users create path).
    table = InboxEntry.__table__  # type: ignore[attr-defined]
    columns = ("message_id", "message_type", "processed_at")
    statement = insert(table).values({name: bindparam(name) for name in columns})
    # RETURNING, not rowcount: through SQLAlchemy's psycopg dialect this insert's rowcount is -1.
    returning: Executable = statement.on_conflict_do_nothing(index_elements=["message_id"]).returning(
        table.c.message_id
    )
    return returning


_INBOX_INSERTS = {"postgresql": _inbox_insert(postgresql_insert), "sqlite": _inbox_insert(sqlite_insert)}


def enqueue(
    session: Session,
    *,
    topic: str,
    key: bytes | None,
    value: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    """``headers`` gain the current trace context, so the trace continues when the relay publishes."""
    session.execute(_OUTBOX_INSERT, [_row(topic=topic, key=key, value=value, headers=headers)])


def enqueue_envelopes(session: Session, messages: Sequence[tuple[str, bytes | None, Envelope]]) -> int:
    """Each ``(topic, key, envelope)`` as an outbox row, in this order (the relay's); how many."""
    rows = [
        _row(topic=topic, key=key, value=envelope.to_bytes(), headers=_headers(envelope))
        for topic, key, envelope in messages
    ]
    if rows:
        # One Core INSERT for the lot, not ORM objects: nothing reads the rows back in this transaction,
        # and constructing, tracking and flushing an object per message cost more CPU than the insert.
        session.execute(_OUTBOX_INSERT, rows)
    return len(rows)


def outbound_record(*, topic: str, key: bytes | None, envelope: Envelope) -> OutboundRecord:
    """An envelope as the relay publishes it (a reply sent at once, never stored)."""
    return OutboundRecord(None, topic, key, envelope.to_bytes(), _traced(_headers(envelope)))


def _headers(envelope: Envelope) -> dict[str, str]:
    return {"content-type": "application/json", "message-type": envelope.type}


def _traced(headers: dict[str, str] | None) -> dict[str, str]:
    """``headers`` and the current trace context, so the trace continues where the record is read."""
    carried = dict(headers or {})
    tracing.inject_current(carried)
    return carried


def _row(*, topic: str, key: bytes | None, value: bytes, headers: dict[str, str] | None) -> dict[str, Any]:
    return {"topic": topic, "key": key, "value": value, "headers": _traced(headers), "created_at": utc_now()}


_OUTBOX_INSERT = insert(OutboxEntry.__table__)  # type: ignore[attr-defined]


def claim_unpublished(
    session: Session,
    *,
    limit: int,
    topic: str | None = None,
    key: bytes | None = None,
    after: int | None = None,
) -> list[OutboundRecord]:
    """Oldest first, so messages leave in commit order; only ``topic``'s (and ``key``'s), and only
    rows after the id ``after``, if given."""
    outbox = OutboxEntry.__table__  # type: ignore[attr-defined]
    query = sa_select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.value, outbox.c.headers)
    query = query.where(outbox.c.published_at.is_(None))
    if after is not None:
        query = query.where(outbox.c.id > after)
    if topic is not None:
        query = query.where(outbox.c.topic == topic)
    if key is not None:
        query = query.where(outbox.c.key == key)
    rows = session.execute(query.order_by(outbox.c.id).limit(limit))
    return [OutboundRecord(*row) for row in rows]


def mark_published(session: Session, *, ids: Sequence[int]) -> None:
    if ids:
        session.execute(
            update(OutboxEntry).where(OutboxEntry.id.in_(ids)).values(published_at=utc_now())  # type: ignore[union-attr]
        )


def mark_published_through(session: Session, *, last_id: int) -> None:
    """Every unpublished row up to ``last_id`` (a seek on the unpublished index, not a list of ids)."""
    session.execute(
        update(OutboxEntry)
        .where(col(OutboxEntry.published_at).is_(None), col(OutboxEntry.id) <= last_id)
        .values(published_at=utc_now())
    )


def purge_settled(session: Session, *, before: datetime) -> int:
    """Forget published outbox rows and inbox entries older than ``before``; never unpublished rows.

    The inbox must outlive any redelivery, so ``before`` should lie beyond the topics' retention.
    """
    published = delete(OutboxEntry).where(
        col(OutboxEntry.published_at).is_not(None), col(OutboxEntry.published_at) < before
    )
    processed = delete(InboxEntry).where(col(InboxEntry.processed_at) < before)
    return sum(session.execute(statement).rowcount for statement in (published, processed))  # type: ignore[attr-defined]
