"""SQLite engines (servicekit/db.py): processes starting together on a new database file all get a
connection, although switching the new file to WAL is refused at once to all but one of them."""

from __future__ import annotations

import threading
from pathlib import Path

from servicekit.db import make_engine

STARTERS = 6
ROUNDS = 30  # the race is lost about one round in ten without the retry


def _connect_together(url: str) -> tuple[list[str], list[Exception]]:
    """Each starter's journal mode once connected, and what failed instead."""
    engines = [make_engine(url) for _ in range(STARTERS)]
    together = threading.Barrier(STARTERS)
    modes: list[str] = []
    errors: list[Exception] = []

    def connect(engine_index: int) -> None:
        together.wait()
        try:
            with engines[engine_index].connect() as connection:
                modes.append(connection.exec_driver_sql("PRAGMA journal_mode").scalar_one())
        except Exception as error:  # collected: an exception in a thread would go unseen
            errors.append(error)

    threads = [threading.Thread(target=connect, args=(index,)) for index in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    return modes, errors


def test_connections_opened_together_on_a_new_file_all_succeed_in_wal(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        modes, errors = _connect_together(f"sqlite:///{tmp_path / f'new-{round_}.db'}")
        assert not errors, (round_, errors)
        assert modes == ["wal"] * STARTERS
