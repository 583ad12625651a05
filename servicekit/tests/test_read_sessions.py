"""Read sessions on SQLite and PostgreSQL: they refuse to write, and what they loaded stays readable."""

from __future__ import annotations

import contextlib
from uuid import uuid4

import pytest
from sqlalchemy import Engine, func, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from servicekit.db import QueryWrote, read_session
from servicekit.messaging import InboxEntry


def test_rows_read_stay_readable_after_the_block(engine: Engine) -> None:
    message_id = uuid4()
    with Session(engine) as session, session.begin():
        session.add(InboxEntry(message_id=message_id, message_type="UserCreated"))

    with read_session(engine) as session:
        row = session.exec(select(InboxEntry)).one()

    assert (row.message_id, row.message_type) == (message_id, "UserCreated")


def test_a_change_in_a_read_session_is_refused_and_not_kept(engine: Engine) -> None:
    with pytest.raises(QueryWrote), read_session(engine) as session:
        session.add(InboxEntry(message_id=uuid4(), message_type="UserCreated"))

    with Session(engine) as session:
        assert session.exec(select(InboxEntry)).all() == []


def test_a_change_flushed_inside_a_read_session_is_not_kept(engine: Engine) -> None:
    """A query autoflushes what was added: PostgreSQL refuses it (a read-only transaction), SQLite would
    take it, and the session's end throws it away."""
    with contextlib.suppress(DBAPIError), read_session(engine) as session:
        session.add(InboxEntry(message_id=uuid4(), message_type="UserCreated"))
        session.exec(select(InboxEntry)).all()

    with Session(engine) as session:
        assert session.exec(select(InboxEntry)).all() == []


def test_reads_keep_what_postgresql_has_prepared(engine: Engine) -> None:
    """psycopg prepares a statement once it was sent five times on a connection, and forgets every one
    at a ROLLBACK (``DEALLOCATE ALL``): reads ended that way had PostgreSQL plan each statement anew."""
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements")
    for _ in range(6):  # one pooled connection, reused by each read in turn
        with read_session(engine) as session:
            session.exec(select(InboxEntry)).all()

    with read_session(engine) as session:
        prepared = session.exec(select(func.count()).select_from(text("pg_prepared_statements"))).one()

    assert prepared >= 1
