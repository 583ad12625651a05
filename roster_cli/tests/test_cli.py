"""roster-admin without a gateway: the command line, the help, and failures before or instead of an answer."""

from __future__ import annotations

import ast
import http.server
import io
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from roster_cli.app import app
from roster_cli.errors import EXIT_CODE_MEANINGS, ExitCode
from roster_cli.models import Team, TeamMember, TeamSource
from roster_cli.teams import team_table

TOKEN = "x" * 32


@pytest.fixture
def closed_url() -> str:
    """A port nothing listens on (bound once, then released): every request is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def _run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(
        app, list(args), env={"ROSTER_ADMIN_URL": None, "ROSTER_ADMIN_TOKEN": None, **(env or {})}
    )


def test_version_is_the_installed_one() -> None:
    result = _run("--version")
    assert (result.exit_code, result.stdout) == (0, f"roster-admin {version('roster')}\n")


def test_help_lists_every_command_group_and_every_exit_code() -> None:
    result = _run("--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for group in ("tenant", "token", "seats", "team", "default-manager"):
        assert group in result.stdout
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert f"{int(code)}  {meaning}" in result.stdout
    assert [int(code) for code in EXIT_CODE_MEANINGS] == list(range(8))


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_a_closed_port_is_unavailable_in_one_line(closed_url: str, as_json: list[str]) -> None:
    result = _run("--url", closed_url, "--token", TOKEN, *as_json, "tenant", "create", "Nowhere Co")
    assert result.exit_code == ExitCode.UNAVAILABLE and result.stdout == ""
    assert result.stderr.startswith(f"roster-admin: cannot reach the Roster gateway at {closed_url}")
    assert result.stderr.count("\n") == 1


def test_without_a_token_it_names_the_three_ways_to_give_one(tmp_path: Path, closed_url: str) -> None:
    result = _run("--url", closed_url, "tenant", "list", env={"ROSTER_STATE_DIR": str(tmp_path)})
    assert result.exit_code == ExitCode.UNAUTHORIZED and result.stdout == ""
    assert (
        "--token" in result.stderr and "ROSTER_ADMIN_TOKEN" in result.stderr and "make run" in result.stderr
    )


def test_the_token_file_of_make_run_is_the_fallback(tmp_path: Path, closed_url: str) -> None:
    (tmp_path / "admin-token").write_text(TOKEN + "\n")
    result = _run("--url", closed_url, "tenant", "list", env={"ROSTER_STATE_DIR": str(tmp_path)})
    assert result.exit_code == ExitCode.UNAVAILABLE  # got as far as the request


def test_a_url_that_is_not_http_is_a_usage_error() -> None:
    result = _run("--url", "localhost:8000", "--token", TOKEN, "tenant", "list")
    assert result.exit_code == ExitCode.USAGE and "not an http:// or https:// URL" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["team", "members", "ten", "t1"],  # nothing to change
        ["team", "members", "ten", "t1", "--add", "a", "b"],  # --add takes one id; repeat it
        ["team", "list", "ten", "--source", "okta"],
        ["seats", "set", "ten", "-1"],
        ["tenant", "create", "Co", "--seats", "-1"],
        ["tenant", "frobnicate"],
    ],
)
def test_usage_errors_exit_2_before_any_request(closed_url: str, args: list[str]) -> None:
    result = _run("--url", closed_url, "--token", TOKEN, *args)
    assert result.exit_code == ExitCode.USAGE and result.stdout == ""  # a request would have been 5


@pytest.fixture
def not_a_gateway() -> Iterator[str]:
    """A real HTTP server that answers every request with an HTML page."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_answer_that_is_not_the_admin_api_is_an_error_not_a_traceback(not_a_gateway: str) -> None:
    result = _run("--url", not_a_gateway, "--token", TOKEN, "--json", "tenant", "list")
    assert result.exit_code == ExitCode.ERROR and result.stdout == ""
    assert "unexpected answer" in result.stderr and result.stderr.count("\n") == 1


def _team(**overrides: object) -> Team:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    fields: dict[str, object] = {
        "id": "t1",
        "display_name": "Sales West",
        "source": TeamSource.MANAGER,
        "linked": False,
        "leader_id": "m1",
        "member_count": 2,
        "members": [TeamMember(user_id="u1", display="ann@example.com"), TeamMember(user_id="u2")],
        "created": now,
        "last_modified": now,
        "version": 1,
    }
    return Team.model_validate({**fields, **overrides})


def _rendered(teams: list[Team]) -> list[str]:
    screen = io.StringIO()
    Console(file=screen, width=120).print(team_table(teams))
    return [line.rstrip() for line in screen.getvalue().splitlines()]


def test_a_team_row_shows_id_name_source_link_leader_and_each_member() -> None:
    header, team, *members = _rendered([_team()])
    assert header.split() == ["ID", "NAME", "SOURCE", "LINKED", "LEADER", "MEMBERS"]
    assert team.split() == ["t1", "Sales", "West", "manager", "not", "linked", "m1", "2"]
    assert [line.split() for line in members] == [["u1", "ann@example.com"], ["u2"]]
    linked = _team(source=TeamSource.SCIM, linked=True, leader_id=None, members=None, member_count=0)
    assert _rendered([linked])[1].split() == ["t1", "Sales", "West", "scim", "linked", "-", "0"]


def test_names_are_shown_as_typed_not_as_rich_markup() -> None:
    assert "[bold]Sales[/bold]" in _rendered([_team(display_name="[bold]Sales[/bold]")])[1]


def test_the_cli_imports_nothing_of_the_server() -> None:
    """It talks HTTP only, so it can be installed without the services."""
    probe = "import sys, roster_cli.app; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert not {"services", "servicekit", "contracts", "devinfra"} & set(ast.literal_eval(loaded))
