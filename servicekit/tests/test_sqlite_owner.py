"""One process per SQLite database (servicekit/sqlite_owner.py): a second claim is refused naming the
holder, a claim ends with its holder however the holder ends, and a service refuses to start on a
file another process serves — before it touches the database."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devinfra.fixtures import PostgresServer
from servicekit.db import make_engine
from servicekit.kafka import KafkaUnreachable
from servicekit.service import RunningService
from servicekit.sqlite_owner import DatabaseInUse, DatabaseUnclaimable, claim, owner_file
from services.seats.app import definition
from services.seats.config import SeatsSettings

_HOLD = """
import sys, time
from servicekit.db import make_engine
from servicekit.sqlite_owner import claim
held = claim(make_engine(sys.argv[1]), service="holder")  # kept: closing the file drops the lock
print("held", flush=True)
time.sleep(600)
"""


def _holder(url: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, url], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_claim_is_refused_naming_the_holder_until_it_is_released(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'users.db'}")
    first = claim(engine, service="users")
    assert first is not None
    with pytest.raises(DatabaseInUse, match=rf"the users service, pid {os.getpid()} on "):
        claim(engine, service="users")
    first.release()
    second = claim(engine, service="users")
    assert second is not None
    second.release()


def test_a_database_reached_through_a_symbolic_link_is_the_same_claim(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "users.db").touch()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "users.db").symlink_to(tmp_path / "data" / "users.db")
    first = claim(make_engine(f"sqlite:///{tmp_path / 'data' / 'users.db'}"), service="users")
    assert first is not None
    try:
        with pytest.raises(DatabaseInUse, match="is already served by the users service"):
            claim(make_engine(f"sqlite:///{tmp_path / 'other' / 'users.db'}"), service="users")
    finally:
        first.release()


@pytest.mark.parametrize("uri", ["file:{path}?mode=rwc&uri=true", "file://{quoted}?uri=true"])
def test_a_database_named_by_a_uri_filename_is_the_same_claim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    """pysqlite's ``uri=true`` (https://www.sqlite.org/uri.html): the claim is the file the URI names,
    not a file named after the URI text in the working directory."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data dir" / "users.db"
    first = claim(make_engine(f"sqlite:///{path}"), service="users")
    assert first is not None
    try:
        named = uri.format(path=path, quoted=str(path).replace(" ", "%20"))
        engine = make_engine(f"sqlite:///{named}")
        with pytest.raises(DatabaseInUse, match="is already served by the users service"):
            claim(engine, service="users")
        with engine.begin() as connection:  # and the URI opens that very file
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    finally:
        first.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data dir"]
    assert {"users.db", "users.db.owner"} <= {p.name for p in path.parent.iterdir()}
    with make_engine(f"sqlite:///{path}").connect() as plain:
        assert plain.exec_driver_sql("SELECT name FROM sqlite_master").scalars().all() == ["t"]


def test_a_lock_file_that_cannot_be_opened_refuses_the_start(tmp_path: Path) -> None:
    """Here the lock file's name is taken by a directory; a read-only directory or a filesystem without
    flock fails the same way. Serving unclaimed could let a second instance in unseen."""
    (tmp_path / "users.db.owner").mkdir()
    with pytest.raises(DatabaseUnclaimable, match=r"cannot lock .*users\.db\.owner \(Is a directory\)"):
        claim(make_engine(f"sqlite:///{tmp_path / 'users.db'}"), service="users")


def test_a_filesystem_without_locks_refuses_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``flock`` failing for another reason than "held" (NFS without a lock manager: ENOLCK)."""

    def no_locks(_file: object, _operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(DatabaseUnclaimable, match=r"cannot lock .*users\.db\.owner \(No locks available\)"):
        claim(make_engine(f"sqlite:///{tmp_path / 'users.db'}"), service="users")
    monkeypatch.undo()
    again = claim(make_engine(f"sqlite:///{tmp_path / 'users.db'}"), service="users")  # nothing left held
    assert again is not None
    again.release()


def test_a_claim_ends_with_its_process_even_killed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seats.db'}"
    holder = _holder(url)
    try:
        with pytest.raises(DatabaseInUse, match=rf"the holder service, pid {holder.pid} "):
            claim(make_engine(url), service="seats")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    after = claim(make_engine(url), service="seats")
    assert after is not None
    after.release()


def test_nothing_is_claimed_for_an_in_memory_database(tmp_path: Path) -> None:
    engine = make_engine("sqlite://")
    assert owner_file(engine) is None and claim(engine, service="users") is None


def test_nothing_is_claimed_on_postgresql(postgres_server: PostgresServer) -> None:
    engine = make_engine(postgres_server.create_database("owner"))
    try:
        assert owner_file(engine) is None and claim(engine, service="users") is None
    finally:
        engine.dispose()


def test_a_service_on_a_sqlite_file_another_process_serves_exits_5_untouched(tmp_path: Path) -> None:
    database = tmp_path / "seats.db"
    url = f"sqlite:///{database}"
    holder = _holder(url)
    env = {**os.environ, "SEATS_DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"}
    try:
        started = time.monotonic()
        refused = subprocess.run(
            [sys.executable, "-m", "services.seats"], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert refused.returncode == 5, refused.stderr[-2000:]
    assert f"is already served by the holder service, pid {holder.pid}" in refused.stdout + refused.stderr
    assert time.monotonic() - started < 60
    assert not database.exists()  # not even created, let alone migrated


def test_a_start_that_fails_lets_go_of_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In one process a failed start (no Kafka here) may be tried again: it holds nothing."""
    url = f"sqlite:///{tmp_path / 'seats.db'}"
    monkeypatch.setenv("SEATS_DATABASE_URL", url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    settings = SeatsSettings()

    async def start_without_kafka() -> None:
        service = RunningService(definition(settings), settings)  # Kafka clients need the running loop
        with pytest.raises(KafkaUnreachable):
            await service.start()

    asyncio.run(start_without_kafka())
    again = claim(make_engine(url), service="seats")
    assert again is not None
    again.release()
