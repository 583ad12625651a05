"""Queries answered from a read transaction: no inbox row, no outbox row, the reply sent at once.

A query changes nothing, so it needs neither of the inbox/outbox guarantees (docs/architecture.md
§3): answering it twice is harmless, and its reply carries no state that must outlive a crash. The
service publishes the reply (acks=all) *before* it commits the query's offset, so a crash in between
answers again instead of leaving the requester without an answer. The transaction is always rolled
back; a handler that tries to change something is a bug and fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from contracts.envelope import Envelope, Message
from contracts.rejections import Rejection
from servicekit.db import READ_ONLY
from servicekit.handling import Handler, MessageProcessor, Outgoing
from servicekit.messaging import OutboxEntry, outbox_entry


class QueryWrote(RuntimeError):
    """A query handler changed the session: queries must only read."""


def read_options(engine: Engine) -> dict[str, Any]:
    """One snapshot for the whole query (PostgreSQL's default, READ COMMITTED, takes one per
    statement), in a transaction that refuses writes."""
    if engine.dialect.name == "postgresql":
        return {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    return {READ_ONLY: True}


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session in a read transaction, rolled back at the end whatever happened."""
    with Session(engine) as session:
        session.connection(execution_options=read_options(engine))
        try:
            yield session
            if session.new or session.dirty or session.deleted:
                raise QueryWrote("a query handler changed the database; queries must only read")
        finally:
            session.rollback()


class QueryProcessor(MessageProcessor):
    """``MessageProcessor`` for a service's query topic: what ``process`` returns is the reply."""

    writes = False

    def _handle(self, envelope: Envelope, payload: Message, handler: Handler) -> list[Outgoing]:
        try:
            with read_session(self._engine) as session:
                return handler(session, envelope, payload)
        except Rejection as rejection:
            return self._refusal(envelope, rejection)


def as_entries(outgoing: list[Outgoing]) -> list[OutboxEntry]:
    """Replies to publish now, in the relay's shape (never stored)."""
    return [outbox_entry(topic=o.topic, key=o.key, envelope=o.envelope) for o in outgoing]
