from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from devinfra.postgres import LocalPostgres
from devinfra.postgres_install import ensure_postgres_installed

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # each test starts servers of its own

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_root() -> Iterator[Path]:
    # Not tmp_path: as root, pytest's tmp dirs are private (0700) and the postgres user
    # that runs the server could not reach them.
    with tempfile.TemporaryDirectory(prefix="devinfra-pgtest-") as tmp:
        os.chmod(tmp, 0o755)
        yield Path(tmp)


@pytest.fixture(scope="module")
def server(data_root: Path) -> Iterator[LocalPostgres]:
    with LocalPostgres(data_root / "shared") as pg:
        yield pg


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    created: list[Engine] = []
    yield created
    for engine in created:
        engine.dispose()


def _engine(engines: list[Engine], url: str) -> Engine:
    engine = create_engine(url)
    engines.append(engine)
    return engine


def _count_items(engine: Engine) -> int:
    with engine.connect() as conn:
        count: int = conn.execute(text("SELECT count(*) FROM items")).scalar_one()
        return count


def test_ensure_postgres_installed_returns_bin_dir() -> None:
    bin_dir = ensure_postgres_installed()
    assert (bin_dir / "initdb").is_file()
    assert (bin_dir / "pg_ctl").is_file()


def test_url_format(server: LocalPostgres) -> None:
    assert server.url() == f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/postgres"
    assert server.url("app").endswith(f":{server.port}/app")


def test_table_roundtrip(server: LocalPostgres, engines: list[Engine]) -> None:
    url = server.create_database("roundtrip")
    assert url == server.url("roundtrip")
    engine = _engine(engines, url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL)"))
        conn.execute(
            text("INSERT INTO items (id, name) VALUES (:id, :name)"),
            [{"id": 1, "name": "alice"}, {"id": 2, "name": "zoë"}],
        )
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name FROM items ORDER BY id")).all()
        encoding = conn.execute(text("SHOW server_encoding")).scalar_one()
    assert [tuple(row) for row in rows] == [(1, "alice"), (2, "zoë")]
    assert encoding == "UTF8"


def test_databases_are_isolated(server: LocalPostgres, engines: list[Engine]) -> None:
    first = _engine(engines, server.create_database("iso_a"))
    second = _engine(engines, server.create_database("iso_b"))
    with first.begin() as conn:
        conn.execute(text("CREATE TABLE items (id integer PRIMARY KEY)"))
        conn.execute(text("INSERT INTO items VALUES (1), (2), (3)"))
    assert not inspect(second).has_table("items")
    with second.begin() as conn:
        conn.execute(text("CREATE TABLE items (id integer PRIMARY KEY)"))
        conn.execute(text("INSERT INTO items VALUES (10)"))
    assert _count_items(first) == 3
    assert _count_items(second) == 1


def test_create_database_replaces_existing_even_with_open_connections(
    server: LocalPostgres, engines: list[Engine]
) -> None:
    engine = _engine(engines, server.create_database("replaced"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE items (id integer)"))
    holder = engine.connect()  # an open session must not block the drop
    try:
        server.create_database("replaced")
    finally:
        holder.close()
    engine.dispose()
    assert not inspect(_engine(engines, server.url("replaced"))).has_table("items")


def test_settings_for_fast_tests(server: LocalPostgres) -> None:
    with psycopg.connect(server.url().replace("+psycopg", "")) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()
            for name in ("fsync", "synchronous_commit", "full_page_writes", "max_connections")
        }
        listen = conn.execute("SHOW listen_addresses").fetchone()
        socket_dir = conn.execute("SHOW unix_socket_directories").fetchone()
    assert settings == {
        "fsync": ("off",),
        "synchronous_commit": ("off",),
        "full_page_writes": ("off",),
        "max_connections": ("200",),
    }
    assert listen == ("127.0.0.1",)
    assert socket_dir == (str(server.data_dir),)


def test_stop_then_restart_keeps_data(data_root: Path, engines: list[Engine]) -> None:
    pg = LocalPostgres(data_root / "restart")
    with pg:
        engine = create_engine(pg.create_database("kept"))
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE items (id integer)"))
            conn.execute(text("INSERT INTO items VALUES (1)"))
        engine.dispose()
    assert not pg.running
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg.url().replace("+psycopg", ""), connect_timeout=2).close()
    with pg:
        assert _count_items(_engine(engines, pg.url("kept"))) == 1


def test_command_line_prints_url_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "devinfra.postgres"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:"), line
        url = line.removeprefix("DATABASE_URL=")
        with create_engine(url).connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url.replace("+psycopg", ""), connect_timeout=2).close()
