"""A private, throwaway PostgreSQL server for tests and local runs, without Docker.

Uses Debian's PostgreSQL binaries (installed with apt on first use) but never the
Debian-managed cluster: each ``LocalPostgres`` owns its own data directory and port.

Command line: ``python -m devinfra.postgres [--port N] [--data-dir DIR]``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import math
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Literal
from urllib.parse import quote

import psycopg
from psycopg import sql

from devinfra.ports import free_ports, port_is_free
from devinfra.postgres_install import OS_USER, ensure_os_user, ensure_postgres_installed, first_untraversable
from devinfra.processes import Served

__all__ = ["LocalPostgres", "main"]

SUPERUSER = "postgres"
LOG_FILE_NAME = "postgres.log"

# Linux sun_path is 108 bytes including the trailing NUL.
_MAX_SOCKET_PATH = 107
_FAST_TEST_SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class PostgresError(RuntimeError):
    """The local PostgreSQL server could not be set up, started or stopped."""


class LocalPostgres(Served):
    """A PostgreSQL server owning ``data_dir``, listening only on 127.0.0.1.

    Authentication is ``trust`` for the ``postgres`` superuser; the server is stopped at
    interpreter exit if ``stop()`` was not called.
    """

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).absolute()
        self._port_fixed = port is not None
        self._port = port if port is not None else free_ports(1)[0]
        self._bin_dir: Path | None = None
        self._running = False

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        return self._running

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE_NAME

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) for ``database`` on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self._port}/{quote(database, safe='')}"

    def start(self, timeout: float = 60) -> None:
        """Initialise ``data_dir`` if new, start the server, wait until it accepts connections."""
        if self._running:
            return
        deadline = time.monotonic() + timeout
        self._bin_dir = ensure_postgres_installed()
        self._prepare_data_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._stop_leftover_server()
        self._launch(deadline)
        self._running = True
        atexit.register(self.stop)
        try:
            self._wait_until_accepting(deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        """Stop the server: ``fast`` disconnects running sessions and writes a checkpoint;
        ``immediate`` skips the checkpoint, for a data directory thrown away next."""
        if not self._running:
            return
        self._running = False
        atexit.unregister(self.stop)
        self._pg_ctl("stop", "-m", mode, "-w")

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` (dropping any existing one) and return its URL."""
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        with self._connect() as conn:
            conn.execute(drop)
            conn.execute(create)
        return self.url(name)

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return f"LocalPostgres({str(self.data_dir)!r}, port={self._port}, {state})"

    def _connect(self, connect_timeout: int = 10) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self._port,
            user=SUPERUSER,
            dbname="postgres",
            autocommit=True,
            connect_timeout=connect_timeout,
        )

    def _prepare_data_dir(self) -> None:
        socket_path = self.data_dir / f".s.PGSQL.{self._port}"
        if len(os.fsencode(socket_path)) > _MAX_SOCKET_PATH:
            raise PostgresError(
                f"data_dir {self.data_dir} is too long for a unix socket path; use a shorter one"
            )
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        user = ensure_os_user()
        blocker = first_untraversable(self.data_dir, user)
        if blocker is not None:
            # PostgreSQL refuses to run as root, and the postgres user cannot reach the data dir.
            raise PostgresError(
                f"the {OS_USER!r} OS user cannot traverse {blocker}, so it cannot reach "
                f"{self.data_dir}; use a data dir whose parents everyone can traverse, e.g. "
                "tempfile.mkdtemp() itself (pytest's tmp_path is private to root)"
            )
        if self.data_dir.stat().st_uid != user.pw_uid:
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)

    def _initdb(self) -> None:
        self._run(
            "initdb",
            "-D", str(self.data_dir),
            "-U", SUPERUSER,
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )  # fmt: skip

    def _stop_leftover_server(self) -> None:
        # A previous process that was SIGKILLed leaves its server running on this data dir.
        if not (self.data_dir / "postmaster.pid").exists():
            return
        if self._pg_ctl("status", check=False).returncode == 0:
            self._pg_ctl("stop", "-m", "fast", "-w")

    def _launch(self, deadline: float) -> None:
        attempts = 1 if self._port_fixed else 3
        for attempt in range(1, attempts + 1):
            try:
                self._pg_ctl_start(deadline)
                return
            except PostgresError:
                self._pg_ctl("stop", "-m", "immediate", "-w", check=False)
                # Another process may have grabbed the port between choosing it and binding it.
                if attempt == attempts or port_is_free(self._port):
                    raise
                self._port = free_ports(1)[0]

    def _pg_ctl_start(self, deadline: float) -> None:
        options = ["-p", str(self._port), "-k", str(self.data_dir)]
        for name, value in _FAST_TEST_SETTINGS.items():
            options += ["-c", f"{name}={value}"]
        wait_seconds = max(1, math.ceil(deadline - time.monotonic()))
        result = self._pg_ctl(
            "start",
            "-l", str(self.log_file),
            "-w", "-t", str(wait_seconds),
            # pg_ctl pastes -o into a shell command line.
            "-o", shlex.join(options),
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresError(
                f"pg_ctl start failed on port {self._port} ({result.stdout.strip()} "
                f"{result.stderr.strip()}); server log tail:\n{self._log_tail()}"
            )

    def _wait_until_accepting(self, deadline: float) -> None:
        while True:
            try:
                with self._connect(connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresError(f"server on port {self._port} not accepting connections") from exc
                time.sleep(0.05)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", *args, "-D", str(self.data_dir), check=check)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if self._bin_dir is None:
            self._bin_dir = ensure_postgres_installed()
        command = [str(self._bin_dir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OS_USER, "--", *command]
        # cwd="/" because the postgres user may not be able to read our working directory.
        result = subprocess.run(command, cwd="/", capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise PostgresError(
                f"{shlex.join(command)} exited {result.returncode}: "
                f"{result.stdout.strip()} {result.stderr.strip()}"
            )
        return result


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devinfra.postgres",
        description="Run a local PostgreSQL server in the foreground until SIGINT/SIGTERM.",
    )
    parser.add_argument("--port", type=int, default=None, help="TCP port (default: a free one)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data directory, kept between runs (default: a temporary one, deleted on exit)",
    )
    return parser.parse_args(argv)


def _wait_for_termination() -> None:
    stop = threading.Event()

    def _handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    with contextlib.ExitStack() as stack:
        data_dir: Path = args.data_dir
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="devinfra-pg-")))
        server = stack.enter_context(LocalPostgres(data_dir, port=args.port))
        print(f"DATABASE_URL={server.url()}", flush=True)
        print(f"postgres running, log: {server.log_file}; Ctrl-C to stop", file=sys.stderr, flush=True)
        _wait_for_termination()
        print("stopping postgres", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
