"""The pytest plugin every test tier uses (registered in the root ``conftest.py``): real PostgreSQL
and SQLite databases, real Kafka, and the ``kafka``/``postgres`` markers set from what a test uses.

``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` point the tests at existing servers; otherwise
local ones are started (Kafka from Maven Central jars, PostgreSQL from Debian's package), once per
session and only if a selected test needs them: ``-m "not kafka and not postgres"`` starts none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from devinfra.kafka import LocalKafka
    from devinfra.postgres import LocalPostgres

_MARKS_BY_FIXTURE = {
    "kafka_bootstrap": "kafka",
    "spare_kafka_bootstrap": "kafka",
    "spare_kafka": "kafka",
    "postgres_server": "postgres",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a server's fixture, directly or through others, carries its marker; one run
    on PostgreSQL by ``database_url`` does too. Deselecting by marker then never starts the server."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgresql":
            used.add("postgres_server")
        for fixture, mark in _MARKS_BY_FIXTURE.items():
            if fixture in used:
                item.add_marker(mark)


class PostgresServer:
    """Hands out a fresh database per test on one server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def create_database(self, prefix: str) -> str:
        name = f"{prefix}_{uuid4().hex[:10]}"
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)


def _private_dir(prefix: str) -> Path:
    # The postgres OS user must be able to enter it, so not under pytest's root-only tmp dir.
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    if os.environ.get("DATABASE_URL"):
        yield PostgresServer(os.environ["DATABASE_URL"])
        return
    with private_postgres("roster-pg-") as server:
        yield PostgresServer(server.url("postgres"))


@contextmanager
def private_postgres(prefix: str, *, port: int | None = None) -> Iterator[LocalPostgres]:
    """A PostgreSQL server of its own (on ``port``, kept across a stop and start, if given), its data
    directory thrown away after: no shutdown checkpoint, deleted in the background."""
    from devinfra.postgres import LocalPostgres

    root = _private_dir(prefix)
    server = LocalPostgres(root / "data", port=port)
    server.start()
    try:
        yield server
    finally:
        server.stop(mode="immediate")
        _remove_in_background(root)


def _remove_in_background(path: Path) -> None:
    """Deleted by a process of its own, which this session does not wait for: the session's PostgreSQL
    data directory holds every database the tests made (hundreds, each a few hundred files), and
    deleting it took ~15 s at the very end of the suite."""
    subprocess.Popen(
        ["rm", "-rf", "--", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@contextmanager
def _local_broker(prefix: str) -> Iterator[LocalKafka]:
    from devinfra.kafka import LocalKafka

    root = _private_dir(prefix)
    broker = LocalKafka(root / "data")
    broker.start()
    try:
        yield broker
    finally:
        # Killed: its data is deleted next, and a clean stop of a broker holding thousands of the
        # tests' partitions takes seconds to write what is deleted.
        broker.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    with _local_broker("roster-kafka-") as broker:
        yield broker.bootstrap_servers


@pytest.fixture(scope="session")
def spare_kafka() -> Iterator[LocalKafka]:
    """A second broker, for tests whose own service processes must not join the consumer groups of
    the end-to-end stack on the session broker (they would take its messages), or that freeze or
    stop their broker. Shared by those tests: each stops its processes (and thaws the broker) before
    the next starts, and a broker costs half a minute to start."""
    with _local_broker("roster-spare-kafka-") as broker:
        yield broker


@pytest.fixture(scope="session")
def spare_kafka_bootstrap(spare_kafka: LocalKafka) -> str:
    return spare_kafka.bootstrap_servers


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs once on SQLite and once on PostgreSQL, on a fresh database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database("t")
