"""Pooled PostgreSQL connections: pinged at checkout only after sitting idle, replaced when dead."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from devinfra.fixtures import PostgresServer
from servicekit.db import make_engine
from servicekit.idle_ping import IDLE_SECONDS, ping_after_idle


@pytest.fixture
def url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database("ping")


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    created = make_engine(url)
    yield created
    created.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each ping the pool sends (it goes through the DBAPI cursor, which statement events do not see)."""
    sent: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: DBAPIConnection) -> bool:
        sent.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return sent


def _backend_of(engine: Engine) -> int:
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        connection.commit()
    return int(pid)


def _terminate(url: str, pid: int) -> None:
    """What a server restart does to a pooled connection, without restarting the shared server."""
    killer = create_engine(url, poolclass=NullPool)
    try:
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            connection.commit()
    finally:
        killer.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(engine: Engine, pings: list[int]) -> None:
    first = _backend_of(engine)

    assert [_backend_of(engine) for _ in range(3)] == [first] * 3
    assert pings == []  # nor was the new one: just made, it is as good as just used


def test_a_connection_idle_for_a_while_is_pinged(engine: Engine, pings: list[int]) -> None:
    first = _backend_of(engine)
    time.sleep(IDLE_SECONDS + 0.1)

    assert _backend_of(engine) == first
    assert pings == [1]


def test_a_connection_that_died_while_idle_is_replaced_before_use(url: str, engine: Engine) -> None:
    dead = _backend_of(engine)
    _terminate(url, dead)
    time.sleep(IDLE_SECONDS + 0.1)

    assert _backend_of(engine) != dead


def test_a_connection_that_died_right_after_use_fails_once_then_the_pool_is_renewed(url: str) -> None:
    # "Right after" is within the idle time; a long one here, so a slow machine cannot outlast it.
    engine = create_engine(url, pool_use_lifo=True)
    ping_after_idle(engine, idle_seconds=60)
    try:
        dead = _backend_of(engine)
        _terminate(url, dead)

        with pytest.raises(DBAPIError) as failed, engine.connect() as connection:
            connection.execute(text("SELECT 1"))

        assert failed.value.connection_invalidated
        assert _backend_of(engine) != dead
    finally:
        engine.dispose()


def test_the_connection_returned_last_is_handed_out_first(engine: Engine, pings: list[int]) -> None:
    """So a steady load keeps the same few connections busy, none idle long enough to be pinged."""
    with engine.connect() as first, engine.connect() as last:  # ``last`` goes back first, then ``first``
        returned_last = first.execute(text("SELECT pg_backend_pid()")).scalar_one()
        last.execute(text("SELECT 1"))

    assert [_backend_of(engine) for _ in range(3)] == [returned_last] * 3
    assert pings == []
