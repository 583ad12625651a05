"""SQLite writers of one process take turns on a lock of their own, not in SQLite's busy handler.

SQLite lets one transaction write at a time. A connection whose ``BEGIN IMMEDIATE`` finds the write
lock taken waits in SQLite's default busy handler, which polls: it sleeps 1, 2, 5, 10, 15, 20, 25, 25,
25, 50, 50, 100 ms between tries (``sqliteDefaultBusyCallback``), so a writer queued behind a 1 ms
transaction resumes after 3 ms, one behind a 4 ms transaction after 8 ms, and a queue of three
compounds. Under Okta's create flow at concurrency 32 a fifth of the users service's write
transactions waited over 1 ms there, the slowest hundredth 40 ms (BENCHMARKS.md, "SQLite writers take
turns").

One process serves a SQLite file (``servicekit/sqlite_owner.py``), so its writers can queue on a
``threading.Lock`` instead, which hands the turn over the moment the last writer's COMMIT or ROLLBACK
has run. SQLite's own lock stays the truth: a writer from elsewhere (a second engine on the file, an
operator's ``sqlite3`` shell) still meets the busy handler, and a writer that waited ``TURN_WAIT_SECONDS``
for its turn goes on to ``BEGIN IMMEDIATE`` without it, so the longest wait is what it was without
turns, doubled at worst (a thread that begins a write while it holds another's, which would wait out
the busy timeout either way).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

TURN_WAIT_SECONDS = 30.0


class TurnTakingConnection(sqlite3.Connection):
    """A pysqlite connection that gives its writer's turn back once its transaction has ended.

    Every end of a transaction goes through ``commit``, ``rollback`` or ``close`` (the engine turns
    pysqlite's implicit transactions off and issues ``BEGIN`` itself, ``servicekit/db.py``)."""

    turns: threading.Lock | None = None
    holds_turn: bool = False

    def take_turn(self) -> None:
        """Before ``BEGIN IMMEDIATE``: wait until no other writer of this process is in a transaction."""
        if self.turns is not None and not self.holds_turn:
            self.holds_turn = self.turns.acquire(timeout=TURN_WAIT_SECONDS)

    def give_turn_back(self) -> None:
        if self.holds_turn and self.turns is not None:
            self.holds_turn = False
            self.turns.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_turn_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_turn_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_turn_back()


def share_turns(dbapi_connection: Any, turns: threading.Lock) -> None:
    """Make a new connection of an engine queue on the engine's ``turns``."""
    if isinstance(dbapi_connection, TurnTakingConnection):
        dbapi_connection.turns = turns


@contextlib.contextmanager
def writer_turn(dbapi_connection: Any) -> Iterator[None]:
    """Around ``BEGIN IMMEDIATE``: the turn taken first, and given back if the BEGIN fails (the
    transaction's end gives it back otherwise)."""
    if not isinstance(dbapi_connection, TurnTakingConnection):
        yield
        return
    dbapi_connection.take_turn()
    try:
        yield
    except BaseException:
        dbapi_connection.give_turn_back()
        raise
