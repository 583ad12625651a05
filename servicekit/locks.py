"""PostgreSQL advisory locks: how instances sharing a database serialise what row locks cannot
cover (a name not taken yet, a member id with no row, the relay's turn, the schema).

A lock is named by a string; ``lock_key`` turns it into the 64-bit key PostgreSQL wants, the same
in every process and on every server version. Advisory locks are scoped to one database, so names
need only be unique within a service's own database.

On SQLite every function here is a no-op that succeeds: a database file has one writer at a time
(``BEGIN IMMEDIATE``, ``servicekit/db.py``) and one process relays.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session


def lock_key(name: str) -> int:
    """A signed 64-bit key derived from ``name`` alone (not PostgreSQL's internal hash functions,
    which carry no stability promise across versions)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _on_postgresql(bind: Session | Connection) -> bool:
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    return dialect.name == "postgresql"


def hold(session: Session, name: str, *, shared: bool = False) -> None:
    """Wait for the lock and keep it until the transaction ends. ``shared`` holders do not exclude
    one another, only the exclusive one."""
    if _on_postgresql(session):
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        session.execute(text(f"SELECT {function}(:key)"), {"key": lock_key(name)})


def try_hold(session: Session, name: str) -> bool:
    """Take the lock exclusively until the transaction ends if nobody holds it; never waits."""
    if not _on_postgresql(session):
        return True
    acquired = session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key(name)})
    return bool(acquired.scalar())


@contextlib.contextmanager
def held_by_connection(connection: Connection, name: str) -> Iterator[None]:
    """The lock held by ``connection`` itself for the whole block, across its transactions, and
    without one where a statement cannot run inside a transaction (``CREATE DATABASE``). For work
    done once per database by whichever instance comes first: schema creation, migrations."""
    if not _on_postgresql(connection):
        yield
        return
    key = {"key": lock_key(name)}
    connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
    try:
        yield
    except BaseException:
        connection.rollback()  # a failed transaction refuses every statement, the unlock too
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
        raise
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
