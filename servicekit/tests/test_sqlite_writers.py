"""SQLite writers of one engine take turns on the engine's lock (servicekit/sqlite_writers.py): a
second writer queues there, not in SQLite's polling busy handler; every end of a transaction hands the
turn on; readers never take it; SQLite's own lock still keeps out a writer from elsewhere."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import IntegrityError, OperationalError

from servicekit.db import make_engine, read_session
from servicekit.sqlite_writers import TurnTakingConnection

QUEUED = 0.3  # long enough for a writer that did not queue on the turn to have sent its BEGIN


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "writers.db"


@pytest.fixture
def engine(database: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE rows (id INTEGER PRIMARY KEY)")
    yield engine
    engine.dispose()


def _begins(engine: Engine) -> list[str]:
    """Every BEGIN the engine sends, in order."""
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("BEGIN"):
            sent.append(statement)

    return sent


def _insert(connection: Connection, row_id: int) -> None:
    connection.exec_driver_sql("INSERT INTO rows (id) VALUES (?)", (row_id,))


def _rows(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [row[0] for row in connection.exec_driver_sql("SELECT id FROM rows ORDER BY id")]


def _turn_taken(engine: Engine) -> bool:
    with engine.connect() as connection:
        dbapi_connection = connection.connection.dbapi_connection
        assert isinstance(dbapi_connection, TurnTakingConnection) and dbapi_connection.turns is not None
        return dbapi_connection.turns.locked()


def _in_thread(work: Any) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_a_second_writer_queues_for_its_turn_before_sending_begin(engine: Engine) -> None:
    begins = _begins(engine)
    first_in, first_may_end = threading.Event(), threading.Event()

    def first() -> None:
        with engine.begin() as connection:
            _insert(connection, 1)
            first_in.set()
            first_may_end.wait(10)

    def second() -> None:
        with engine.begin() as connection:
            _insert(connection, 2)

    one = _in_thread(first)
    assert first_in.wait(10)
    two = _in_thread(second)
    two.join(QUEUED)
    assert two.is_alive()
    assert begins == ["BEGIN IMMEDIATE"]  # the second waits on the turn, not in SQLite's busy handler
    first_may_end.set()
    one.join(10)
    two.join(10)
    assert begins == ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]
    assert _rows(engine) == [1, 2]


def test_the_turn_is_handed_on_by_commit_and_by_rollback(engine: Engine) -> None:
    with engine.begin() as connection:
        _insert(connection, 1)
    assert not _turn_taken(engine)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        _insert(connection, 1)
    assert not _turn_taken(engine)
    with pytest.raises(RuntimeError), engine.begin() as connection:
        _insert(connection, 2)
        raise RuntimeError("the handler failed")
    assert not _turn_taken(engine)
    assert _rows(engine) == [1]


def test_the_turn_is_handed_on_when_the_connection_is_thrown_away_mid_transaction(engine: Engine) -> None:
    connection = engine.connect()
    connection.begin()
    _insert(connection, 1)
    connection.invalidate()  # what the pool does to a connection that failed: it is closed
    connection.close()
    assert not _turn_taken(engine)
    assert _rows(engine) == []


def test_a_begin_refused_by_sqlite_hands_the_turn_on(engine: Engine, database: Path) -> None:
    outside = sqlite3.connect(database, isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")  # another process's writer
    try:
        raw = engine.raw_connection()
        raw.driver_connection.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
        raw.close()
        with pytest.raises(OperationalError, match="locked"), engine.begin() as connection:
            _insert(connection, 1)
        assert not _turn_taken(engine)
    finally:
        outside.rollback()
        outside.close()


def test_a_reader_never_takes_the_turn(engine: Engine) -> None:
    with read_session(engine) as session:
        session.connection().exec_driver_sql("SELECT count(*) FROM rows").scalar_one()
        with engine.begin() as connection:  # the same thread: it would wait on itself if readers took turns
            _insert(connection, 1)
    assert _rows(engine) == [1]


def test_a_writer_from_elsewhere_is_still_kept_out_by_sqlite(engine: Engine, database: Path) -> None:
    outside = sqlite3.connect(database, isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")
    outside.execute("INSERT INTO rows (id) VALUES (1)")

    def ours() -> None:
        with engine.begin() as connection:
            (count,) = connection.exec_driver_sql("SELECT count(*) FROM rows").one()
            _insert(connection, 100 + count)

    writer = _in_thread(ours)
    writer.join(QUEUED)
    assert writer.is_alive()  # held off by SQLite's lock, which the turns leave in charge
    outside.commit()
    outside.close()
    writer.join(10)
    assert _rows(engine) == [1, 101]
