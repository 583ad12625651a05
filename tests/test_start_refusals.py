"""A process that cannot start says why in one log line, with the exit status docs/operations.md
("Troubleshoot") gives it, never a traceback or a password: its database unreachable (6), Kafka
unreachable (4), a port it cannot listen on (7), a database URL Roster does not run on (1, bad
settings)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "s3cret-pw"
UNREACHABLE_DATABASE = f"postgresql+psycopg://roster:{PASSWORD}@127.0.0.1:1/roster"
NO_BROKER = "127.0.0.1:1"


def _start(service: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    variables = {
        **os.environ,
        "ROSTER_STATE_DIR": str(tmp_path / "state"),
        "ROSTER_ADMIN_TOKEN": "t" * 40,
        "KAFKA_BOOTSTRAP_SERVERS": NO_BROKER,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", f"services.{service}"],
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _refusal(started: subprocess.CompletedProcess[str], status: int) -> str:
    said = started.stdout + started.stderr
    assert started.returncode == status, said[-3000:]
    assert "Traceback" not in said and PASSWORD not in said
    [line] = [line for line in said.splitlines() if "cannot start" in line or "bad settings" in line]
    return line


@pytest.mark.parametrize("service", ["users", "gateway"])
def test_a_database_it_cannot_reach_is_exit_6_in_one_line(service: str, tmp_path: Path) -> None:
    started = _start(service, tmp_path, **{f"{service.upper()}_DATABASE_URL": UNREACHABLE_DATABASE})
    line = _refusal(started, 6)
    assert (
        f"{service} cannot start: cannot reach its database postgresql+psycopg://roster:***@127.0.0.1:1/"
        in line
    )
    assert "Connection refused" in line


def test_a_database_directory_it_cannot_make_is_exit_6(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    line = _refusal(_start("seats", tmp_path, SEATS_DATABASE_URL=f"sqlite:///{blocked}/seats.db"), 6)
    assert f"seats cannot start: cannot make the directory of its database {blocked}/seats.db" in line


def test_a_gateway_that_cannot_reach_kafka_is_exit_4_in_one_line(tmp_path: Path) -> None:
    line = _refusal(_start("gateway", tmp_path), 4)
    assert (
        f"gateway cannot start: cannot reach Kafka (KAFKA_SECURITY_PROTOCOL=PLAINTEXT): {NO_BROKER}" in line
    )


@pytest.mark.parametrize(
    "url", ["mysql://roster:s3cret-pw@db/roster", "postgresql+asyncpg://roster@db/roster"]
)
def test_a_database_roster_does_not_run_on_is_bad_settings(url: str, tmp_path: Path) -> None:
    line = _refusal(_start("teams", tmp_path, DATABASE_URL=url), 1)
    assert line.startswith("bad settings: the database URL (TEAMS_DATABASE_URL or DATABASE_URL) names ")
    assert "Roster runs on PostgreSQL through psycopg" in line


def test_a_health_port_that_is_taken_is_exit_7_with_uvicorns_reason_as_json(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = _start("seats", tmp_path, SEATS_HEALTH_PORT=str(port))
    line = _refusal(started, 7)
    assert f"seats cannot start: cannot listen on http://127.0.0.1:{port} for health checks" in line
    reason = json.loads(started.stderr.splitlines()[-2])  # uvicorn's own line, through our handler
    assert (reason["logger"], reason["level"]) == ("uvicorn.error", "ERROR")
    assert "address already in use" in reason["message"]


@pytest.mark.kafka
def test_a_gateway_port_that_is_taken_is_exit_7(tmp_path: Path, kafka_bootstrap: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = _start("gateway", tmp_path, GATEWAY_PORT=str(port), KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    line = _refusal(started, 7)
    assert f"gateway cannot start: cannot serve on 127.0.0.1:{port}" in line
    assert all(text.startswith("{") for text in started.stderr.splitlines())  # every line JSON
