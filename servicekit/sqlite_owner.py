"""One process per SQLite database: the service that serves it holds an exclusive lock on a file
beside it (``<database>.owner``) for as long as it runs.

On SQLite the relay marks what it published by position ("every row up to the last one sent",
``servicekit/relay.py``), exact only while no other process appends to that outbox. A second
instance pointed at the same file would have its rows marked unsent, so it is refused at start
instead. The lock is ``flock``'s: the kernel drops it when the process ends, however it ends
(kill -9 included), so a crash never leaves a claim to clear by hand. PostgreSQL needs none: several
instances share a database there, under the relay's advisory lock.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine

from servicekit.db import sqlite_file


class DatabaseRefused(RuntimeError):
    """This process may not serve the SQLite database: it cannot hold it for itself alone."""


class DatabaseInUse(DatabaseRefused):
    """Another running process serves this SQLite database."""


class DatabaseUnclaimable(DatabaseRefused):
    """The lock file cannot be opened, locked or written (a read-only directory, a filesystem
    without ``flock``, a full disk): refused, as serving unclaimed could let a second instance in."""


class SqliteOwnership:
    """The claim on one SQLite database, held until ``release`` (or the process ends)."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle

    def release(self) -> None:
        self._handle.close()  # closing the last descriptor drops the lock


def owner_file(engine: Engine) -> Path | None:
    """The lock file of ``engine``'s SQLite database; None for PostgreSQL or an in-memory database.
    Beside the file the path resolves to, so two spellings of one database (relative, through a
    symbolic link) share one lock."""
    database = sqlite_file(engine.url)
    if database is None:
        return None
    database = database.resolve()
    return database.with_name(f"{database.name}.owner")


def claim(engine: Engine, *, service: str) -> SqliteOwnership | None:
    """Hold ``engine``'s SQLite database for this process, or raise ``DatabaseInUse`` naming who holds
    it (``DatabaseUnclaimable`` if that cannot be known). Nothing to hold on PostgreSQL."""
    path = owner_file(engine)
    if path is None:
        return None
    try:
        handle = path.open("a+", encoding="utf-8")
    except OSError as error:
        raise _unclaimable(path, error) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise DatabaseInUse(
            f"{engine.url.database} is already served by {holder}; a SQLite database serves one process"
            " (several instances of a service need PostgreSQL: docs/operations.md)"
        ) from None
    except OSError as error:
        handle.close()
        raise _unclaimable(path, error) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"the {service} service, pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
    except OSError as error:
        handle.close()
        raise _unclaimable(path, error) from None
    return SqliteOwnership(handle)


def _unclaimable(path: Path, error: OSError) -> DatabaseUnclaimable:
    return DatabaseUnclaimable(
        f"cannot lock {path} ({error.strerror or error}): a service on SQLite holds a lock beside its"
        " database file, so that directory must be writable and on a filesystem with flock"
        " (docs/operations.md)"
    )
