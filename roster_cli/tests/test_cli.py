"""roster-admin without a gateway: the command line, the help, and failures before or instead of an answer."""

from __future__ import annotations

import ast
import http.server
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from roster_cli.app import app
from roster_cli.errors import EXIT_CODE_MEANINGS, ExitCode, exit_code_for_status
from roster_cli.models import MAX_SEATS
from roster_cli.output import Output
from services.gateway.admin.seats import MAX_SEAT_LIMIT

TOKEN = "x" * 32


@pytest.fixture
def closed_url() -> str:
    """A port nothing listens on (bound once, then released): every request is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def _run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    unset: dict[str, str | None] = {
        name: None
        for name in ("ROSTER_GATEWAY_URL", "ROSTER_ADMIN_URL", "ROSTER_ADMIN_TOKEN", "ROSTER_ADMIN_TIMEOUT")
    }
    return CliRunner().invoke(app, list(args), env={**unset, **(env or {})})


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


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) but never answers."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"


def test_no_answer_in_time_is_unavailable(silent_url: str) -> None:
    result = _run("--gateway-url", silent_url, "--token", TOKEN, "--timeout", "0.3", "tenant", "list")
    assert (result.exit_code, result.stdout) == (ExitCode.UNAVAILABLE, "")
    assert result.stderr == (
        f"roster-admin: no answer from the Roster gateway at {silent_url} within 0.3 s (--timeout)\n"
    )


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, ExitCode.REFUSED),
        (401, ExitCode.UNAUTHORIZED),
        (403, ExitCode.ERROR),
        (404, ExitCode.NOT_FOUND),
        (409, ExitCode.CONFLICT),
        (413, ExitCode.REFUSED),
        (422, ExitCode.REFUSED),
        (429, ExitCode.ERROR),
        (500, ExitCode.ERROR),
        (502, ExitCode.UNAVAILABLE),
        (503, ExitCode.UNAVAILABLE),
        (504, ExitCode.UNAVAILABLE),
    ],
)
def test_each_gateway_status_has_its_exit_code(status: int, code: ExitCode) -> None:
    assert exit_code_for_status(status) is code


def test_the_gateway_url_comes_from_the_environment(closed_url: str) -> None:
    for variable in ("ROSTER_GATEWAY_URL", "ROSTER_ADMIN_URL"):
        result = _run("--token", TOKEN, "tenant", "list", env={variable: closed_url})
        assert result.exit_code == ExitCode.UNAVAILABLE and closed_url in result.stderr, variable


def test_json_is_one_document_and_lines_are_for_people_only(capsys: pytest.CaptureFixture[str]) -> None:
    document = {"tenant_id": "t1", "name": "Ünïcode [b]Co[/b]"}
    Output(as_json=True).line("TENANT_ID=t1")
    Output(as_json=True).show(document, "for people")
    assert json.loads(capsys.readouterr().out) == document
    Output(as_json=False).line("t1")
    Output(as_json=False).show(document, "for people")
    assert capsys.readouterr().out == "t1\nfor people\n"


def test_without_a_token_it_names_the_three_ways_to_give_one(tmp_path: Path, closed_url: str) -> None:
    result = _run("--gateway-url", closed_url, "tenant", "list", env={"ROSTER_STATE_DIR": str(tmp_path)})
    assert result.exit_code == ExitCode.UNAUTHORIZED and result.stdout == ""
    assert (
        "--admin-token" in result.stderr
        and "ROSTER_ADMIN_TOKEN" in result.stderr
        and "make run" in result.stderr
    )


def test_the_token_file_of_make_run_is_the_fallback(tmp_path: Path, closed_url: str) -> None:
    (tmp_path / "admin-token").write_text(TOKEN + "\n")
    result = _run("--url", closed_url, "tenant", "list", env={"ROSTER_STATE_DIR": str(tmp_path)})
    assert result.exit_code == ExitCode.UNAVAILABLE  # got as far as the request


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_admin_token_is_a_usage_error_not_the_token_files(
    tmp_path: Path, closed_url: str, blank: str
) -> None:
    (tmp_path / "admin-token").write_text(TOKEN)
    result = _run(
        "--url", closed_url, "--admin-token", blank, "tenant", "list", env={"ROSTER_STATE_DIR": str(tmp_path)}
    )
    assert result.exit_code == ExitCode.USAGE and "--admin-token" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_token_variable_counts_as_unset(tmp_path: Path, closed_url: str, blank: str) -> None:
    env: dict[str, str | None] = {"ROSTER_STATE_DIR": str(tmp_path), "ROSTER_ADMIN_TOKEN": blank}
    result = _run("--url", closed_url, "tenant", "list", env=env)
    assert result.exit_code == ExitCode.UNAUTHORIZED and "no admin token" in result.stderr  # no request


def test_an_empty_token_file_is_named(tmp_path: Path, closed_url: str) -> None:
    (tmp_path / "admin-token").write_text("\n")
    result = _run("--url", closed_url, "tenant", "list", env={"ROSTER_STATE_DIR": str(tmp_path)})
    assert result.exit_code == ExitCode.UNAUTHORIZED and "is empty" in result.stderr


def test_a_url_that_is_not_http_is_a_usage_error() -> None:
    result = _run("--gateway-url", "localhost:8000", "--token", TOKEN, "tenant", "list")
    assert result.exit_code == ExitCode.USAGE and "not an http:// or https:// URL" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["team", "members", "ten", "t1"],  # nothing to change
        ["team", "members", "ten", "t1", "--add", "a", "b"],  # --add takes one id; repeat it
        ["team", "list", "ten", "--source", "okta"],
        ["seats", "set", "ten", "-1"],
        ["tenant", "create", "Co", "--seats", "-1"],
        ["tenant", "create", "Co", "--seats", "1000001"],  # never a tenant left half made
        ["seats", "set", "ten", "1000001"],
        ["tenant", "frobnicate"],
        ["--timeout", "0", "tenant", "list"],
        ["--timeout", "1e12", "tenant", "list"],
        ["activity", "ten", "--since", "99999999d"],
        ["activity", "ten", "--until", "100000000000000000000h"],
        ["activity", "ten", "--since", "9" * 5000 + "d"],
    ],
)
def test_usage_errors_exit_2_before_any_request(closed_url: str, args: list[str]) -> None:
    result = _run("--gateway-url", closed_url, "--token", TOKEN, *args)
    assert result.exit_code == ExitCode.USAGE and result.stdout == ""  # a request would have been 5


def test_a_negative_seat_limit_is_refused_by_its_bound_not_as_an_unknown_option(closed_url: str) -> None:
    result = _run("--gateway-url", closed_url, "--token", TOKEN, "seats", "set", "ten", "-1")
    assert result.exit_code == ExitCode.USAGE and result.stdout == ""
    assert "Invalid value for 'limit'" in result.stderr and "No such option" not in result.stderr


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


def test_the_cli_imports_nothing_of_the_server() -> None:
    """It talks HTTP only, so it can be installed without the services."""
    probe = "import sys, roster_cli.app; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert not {"services", "servicekit", "contracts", "devinfra"} & set(ast.literal_eval(loaded))


def test_the_seat_bound_checked_before_a_tenant_is_made_is_the_admin_apis() -> None:
    assert MAX_SEATS == MAX_SEAT_LIMIT  # the CLI speaks only HTTP, so it keeps its own copy
