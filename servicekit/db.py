"""Engines for SQLite (default) and PostgreSQL (production), tuned for many short transactions."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.util import asbool
from sqlmodel import Session, SQLModel, create_engine

from servicekit import locks
from servicekit.idle_ping import ping_after_idle
from servicekit.sqlite_writers import TurnTakingConnection, share_turns, writer_turn

READ_ONLY = "roster_read_only"
"""Execution option: on SQLite, begin a deferred (snapshot) transaction instead of taking the write
lock, for work that only reads (queries, the relay's claim)."""

SCHEMA_LOCK = "schema"
"""Held while a process creates or migrates its service's tables: several instances starting
together on a new database, or ``migrate`` run twice at once, must not each change the schema."""


def make_engine(url: str) -> Engine:
    """``hide_parameters``: a failed statement's error names no values (user names, e-mail addresses);
    such errors reach the logs and the ``x-error`` header of dead letters."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    ensure_postgres_database(url)
    engine = create_engine(url, pool_size=10, max_overflow=20, pool_use_lifo=True, hide_parameters=True)
    ping_after_idle(engine)
    return engine


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite database URL; None for an in-memory database or another backend."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if asbool(url.query.get("uri", False)):
        return _file_of_uri(database, mode=url.query.get("mode"))
    return Path(database)


def _file_of_uri(database: str, *, mode: object) -> Path | None:
    """``uri=true`` makes pysqlite open a URI filename (https://www.sqlite.org/uri.html): ``file:path``,
    ``file:///path`` or ``file://localhost/path``, percent-encoded, its other parameters (``mode``)
    in the URL's query. Any other name is a plain file name there too."""
    parts = urlsplit(database)
    if parts.scheme != "file":
        return Path(database)
    path = unquote(parts.path)
    if mode == "memory" or "memory" in parse_qs(parts.query).get("mode", []) or path in ("", ":memory:"):
        return None
    return Path(path)


WAL_SWITCH_SECONDS = 30.0


def _into_wal(cursor: Any) -> None:
    """``journal_mode=WAL``, tried again while SQLite answers "database is locked": on a new file,
    several processes starting together (or ``migrate`` run twice) switch it at the same moment, and
    SQLite refuses the switch at once rather than wait out the busy timeout. Once the file is in WAL,
    which it stays, the switch is a no-op that never waits."""
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_engine(url: str) -> Engine:
    database = sqlite_file(make_url(url))
    if database is not None:
        try:
            database.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnreachable(
                f"cannot make the directory of its database {database}: {error.strerror or error}"
            ) from None
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30, "factory": TurnTakingConnection},
        hide_parameters=True,
    )
    writer_turns = threading.Lock()

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite opens a transaction only at the first write, so a read-then-write (count the
        # seats, then take one) would not be isolated. Take control of BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets the relay read while a handler writes; NORMAL is durable across app crashes.
        _into_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # SQL LIKE must honour caseExact attributes as PostgreSQL does.
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()
        share_turns(dbapi_connection, writer_turns)

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # IMMEDIATE: the write lock from the start. Handling a command writes (inbox, outbox), so
        # transactions are serialised rather than failing on a stale snapshot. A query only reads
        # (servicekit/answering.py): DEFERRED, a WAL snapshot that never waits for the writer.
        if connection.get_execution_options().get(READ_ONLY, False):
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        with writer_turn(connection.connection.dbapi_connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def ensure_postgres_database(url: str) -> None:
    """Create the service's database on the server if it does not exist yet. Instances starting
    together take turns (the lock lives in the ``postgres`` database they all connect to); one
    that does not take the lock and creates it meanwhile is tolerated too."""
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection, locks.held_by_connection(connection, f"create database {name}"):
            if _database_exists(connection, name):
                return
            try:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            except DBAPIError:
                if not _database_exists(connection, name):
                    raise
    finally:
        admin.dispose()


def database_exists(url: str) -> bool:
    """Whether the service's database is there already, without making it (``make_engine`` creates a
    PostgreSQL database and a SQLite file's directory; a check must not)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = sqlite_file(parsed)
        return database is None or database.exists()
    admin = create_engine(parsed.set(database="postgres"), hide_parameters=True)
    try:
        with admin.connect() as connection:
            return _database_exists(connection, parsed.database)
    finally:
        admin.dispose()


def _database_exists(connection: Connection, name: str | None) -> bool:
    query = text("SELECT 1 FROM pg_database WHERE datname = :name")
    return connection.execute(query, {"name": name}).scalar() is not None


@contextlib.contextmanager
def schema_lock(engine: Engine) -> Iterator[Connection]:
    """A connection holding ``SCHEMA_LOCK`` for the block (PostgreSQL; SQLite has one writer).
    Whatever changes the schema (migrations, ``create_tables``) runs inside it."""
    with engine.connect() as connection, locks.held_by_connection(connection, SCHEMA_LOCK):
        yield connection


def create_tables(engine: Engine, models: Iterable[type[SQLModel]]) -> None:
    """Create the missing tables of ``models`` without a migration history: for tables that are no
    service's (tests of the messaging mechanics). A service's database is migrated instead
    (``servicekit/migrations.py``)."""
    tables = [model.__table__ for model in models]  # type: ignore[attr-defined]
    with schema_lock(engine) as connection:
        # Only these tables: every service shares SQLModel's metadata in tests.
        SQLModel.metadata.create_all(connection, tables=tables)
        connection.commit()


class QueryWrote(RuntimeError):
    """Work in a read session changed it: a bug, since it is rolled back (queries, lookups)."""


def read_options(engine: Engine) -> dict[str, Any]:
    """One snapshot for the whole query (PostgreSQL's default, READ COMMITTED, takes one per
    statement), in a transaction that refuses writes."""
    if engine.dialect.name == "postgresql":
        return {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    return {READ_ONLY: True}


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session in a read transaction (see ``read_options``), rolled back at the end — on PostgreSQL,
    once the block ended well, committed. What it loaded is detached first, so rows read stay readable
    after the block (ending the transaction would expire them).

    PostgreSQL refuses every write in the transaction (``READ ONLY``), so its COMMIT keeps nothing a
    ROLLBACK would not; and psycopg forgets every prepared statement at a ROLLBACK and sends
    ``DEALLOCATE ALL``: each read would cost a round trip and make PostgreSQL parse and plan again the
    statements every transaction sends. SQLite's read transaction would take a write flushed inside it,
    which its ROLLBACK throws away."""
    with Session(engine) as session:
        session.connection(execution_options=read_options(engine))
        try:
            yield session
            if session.new or session.dirty or session.deleted:
                raise QueryWrote("a read session was changed; queries and lookups must only read")
        except BaseException:
            session.expunge_all()
            session.rollback()
            raise
        session.expunge_all()
        if engine.dialect.name == "postgresql":
            session.commit()
        else:
            session.rollback()


class DatabaseUnreachable(RuntimeError):
    """A process could not connect to its database: the server is down or refuses it, or the file
    cannot be opened. Said in one line, with the URL's password hidden."""


def shown_url(url: str) -> str:
    """A database URL as it may be printed or logged: the password replaced by ``***``; a URL that
    cannot be read is not shown at all."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


@contextlib.contextmanager
def unreachable_as_refusal(url: str) -> Iterator[None]:
    """``OperationalError`` (what the driver raises for a connection it cannot make) as
    ``DatabaseUnreachable``: the driver's own first line, after the URL without its password."""
    try:
        yield
    except OperationalError as error:
        cause = str(error.orig).strip().splitlines()[0] if error.orig is not None else type(error).__name__
        raise DatabaseUnreachable(f"cannot reach its database {shown_url(url)}: {cause}") from None
