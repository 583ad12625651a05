"""roster-admin against a real gateway on a real database (SQLite and PostgreSQL), over HTTP on 127.0.0.1.

Tenants and tokens are the gateway's own: it asks no service about them, so this gateway runs without
Kafka. Commands that ask a service (seats, teams, default manager) get only the gateway's own answers
here (an unknown tenant, a malformed body); their full round trips run against the whole stack in
tests/test_admin_cli.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner, Result

from roster_cli.app import app
from roster_cli.errors import ExitCode
from servicekit import migrations
from servicekit.db import make_engine
from services.gateway import store
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.schema import SCHEMA

ADMIN_TOKEN = "admin-" + "a" * 32
ROSTER_ADMIN = Path(sys.executable).parent / "roster-admin"  # the console script pyproject installs


@dataclass(frozen=True)
class Gateway:
    url: str
    engine: Engine

    def tenants(self) -> dict[str, str]:
        """Tenant id → name, read from the gateway's database."""
        with Session(self.engine) as session:
            return {tenant.id: tenant.name for tenant, _ in store.list_tenants(session)}

    def tenant_of(self, scim_token: str) -> str | None:
        """The tenant a SCIM token authenticates, None once revoked."""
        with Session(self.engine) as session:
            return store.tenant_for_token(session, token=scim_token)


def _serve(server: uvicorn.Server, listening: socket.socket) -> threading.Thread:
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.01)
    return thread


@pytest.fixture
def gateway(database_url: str) -> Iterator[Gateway]:
    """The gateway's own app, all routes and error handlers, with the database but no Kafka: its
    start-up (which connects to Kafka) is skipped and the state it would set is set here."""
    settings = GatewaySettings.model_validate(
        {"ROSTER_ADMIN_TOKEN": ADMIN_TOKEN, "database_url": database_url}
    )
    engine = make_engine(database_url)
    migrations.upgrade(engine, SCHEMA)
    gateway_app = create_app(settings)
    gateway_app.state.engine = engine
    gateway_app.state.owners = None  # a route that asked a service would fail with 500, not pass
    server = uvicorn.Server(uvicorn.Config(gateway_app, lifespan="off", log_level="warning"))
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        thread = _serve(server, listening)
        try:
            yield Gateway(f"http://127.0.0.1:{listening.getsockname()[1]}", engine)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            engine.dispose()


def _cli(gateway: Gateway, *args: str, token: str = ADMIN_TOKEN) -> Result:
    # Wide enough that no table cell is folded; ROSTER_* of the environment must not leak in.
    env = {"COLUMNS": "250", "ROSTER_GATEWAY_URL": None, "ROSTER_ADMIN_URL": None, "ROSTER_ADMIN_TOKEN": None}
    return CliRunner().invoke(app, ["--gateway-url", gateway.url, "--admin-token", token, *args], env=env)


def _document(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _failed(result: Result, code: ExitCode) -> str:
    """The one stderr line of a failure with this exit code, which printed nothing on stdout."""
    assert (result.exit_code, result.stdout) == (code, ""), (result.exit_code, result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    assert line.startswith("roster-admin: ")
    return line


def test_create_prints_the_id_alone_first_then_a_working_scim_token(gateway: Gateway) -> None:
    created = _cli(gateway, "tenant", "create", "  Initech  ")
    assert created.exit_code == 0, created.stderr
    tenant_id, token_line = created.stdout.splitlines()
    assert gateway.tenants() == {tenant_id: "Initech"}
    assert token_line.startswith("SCIM_TOKEN=")
    assert gateway.tenant_of(token_line.removeprefix("SCIM_TOKEN=")) == tenant_id

    bare = _cli(gateway, "tenant", "create", "Tokenless Co", "--no-token")
    [bare_id] = bare.stdout.splitlines()
    listed = _document(_cli(gateway, "--json", "tenant", "list"))["tenants"]
    assert {t["id"]: t["active_tokens"] for t in listed} == {tenant_id: 1, bare_id: 0}


def test_a_taken_name_prints_the_holders_id_and_exits_4(gateway: Gateway) -> None:
    original = _cli(gateway, "tenant", "create", "Duplicate Co").stdout.splitlines()[0]
    conflict = _cli(gateway, "tenant", "create", "duplicate co")
    assert (conflict.exit_code, conflict.stdout) == (ExitCode.CONFLICT, f"{original}\n")
    assert conflict.stderr == (
        "roster-admin: 409: a tenant named 'Duplicate Co' already exists (names are compared"
        f" case-insensitively): tenant {original}\n"
    )
    as_json = _cli(gateway, "--json", "tenant", "create", "DUPLICATE CO")
    assert as_json.exit_code == ExitCode.CONFLICT
    document = json.loads(as_json.stdout)
    assert (document["tenant"]["id"], document["scim_token"], document["unfinished"]) == (original, None, [])
    assert gateway.tenants() == {original: "Duplicate Co"}
    assert _document(_cli(gateway, "--json", "tenant", "list"))["tenants"][0]["active_tokens"] == 1


def test_a_script_gets_the_same_id_from_the_console_script_every_time(gateway: Gateway) -> None:
    env = {**os.environ, "ROSTER_GATEWAY_URL": gateway.url, "ROSTER_ADMIN_TOKEN": ADMIN_TOKEN}
    env["PATH"] = f"{ROSTER_ADMIN.parent}{os.pathsep}{env['PATH']}"
    script = """
        TENANT_ID=$(roster-admin tenant create acme | head -1)
        AGAIN=$(roster-admin tenant create ACME | head -1)  # exits 4: the name is taken
        echo "$TENANT_ID $AGAIN"
    """
    ran = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=True)
    tenant_id, again = ran.stdout.split()
    assert tenant_id == again and list(gateway.tenants()) == [tenant_id]
    assert ran.stderr == (
        "roster-admin: 409: a tenant named 'acme' already exists (names are compared case-insensitively):"
        f" tenant {tenant_id}\n"
    )


def test_tenant_list_is_a_table_for_people(gateway: Gateway) -> None:
    assert _cli(gateway, "tenant", "list").stdout == "no tenants\n"
    tenant_id = _cli(gateway, "tenant", "create", "[bold]Initech[/bold]").stdout.splitlines()[0]
    header, row = _cli(gateway, "tenant", "list").stdout.splitlines()
    assert header.split() == ["ID", "NAME", "SEATS", "TOKENS", "CREATED"]
    # The seats service is not there: the tenants are listed anyway. Names are shown as typed.
    assert row.split()[:4] == [tenant_id, "[bold]Initech[/bold]", "unavailable", "1"]


def test_tokens_issue_rotate_revoke(gateway: Gateway) -> None:
    created = _document(_cli(gateway, "--json", "tenant", "create", "Token Co"))
    assert set(created) == {"tenant", "seats", "scim_token", "unfinished"}
    tenant_id, first = created["tenant"]["id"], created["scim_token"]
    assert set(created["tenant"]) == {"id", "name", "created_at", "active_tokens"}

    issued = _cli(gateway, "token", "issue", tenant_id).stdout
    assert issued.startswith("SCIM_TOKEN=") and issued.count("\n") == 1
    second = issued.strip().removeprefix("SCIM_TOKEN=")
    rotated = _document(_cli(gateway, "--json", "token", "rotate", tenant_id))
    assert set(rotated) == {"tenant_id", "scim_token"} and rotated["tenant_id"] == tenant_id
    third = rotated["scim_token"]
    assert [gateway.tenant_of(token) for token in (first, second, third)] == [None, None, tenant_id]

    assert _cli(gateway, "token", "revoke", tenant_id).stdout == "revoked 1 token(s)\n"
    assert gateway.tenant_of(third) is None
    issued_again = _document(_cli(gateway, "--json", "token", "issue", tenant_id))["scim_token"]
    revoked = _document(_cli(gateway, "--json", "token", "revoke", tenant_id))
    assert revoked == {"tenant_id": tenant_id, "revoked": 1} and gateway.tenant_of(issued_again) is None


def test_tokens_listed_by_id_and_one_revoked_alone(gateway: Gateway) -> None:
    tenant_id = _cli(gateway, "tenant", "create", "Two Tokens Co").stdout.splitlines()[0]
    second = _document(_cli(gateway, "--json", "token", "issue", tenant_id))["scim_token"]
    listed = _document(_cli(gateway, "--json", "token", "list", tenant_id))
    assert listed["tenant_id"] == tenant_id and len(listed["tokens"]) == 2
    first_id, second_id = (token["id"] for token in listed["tokens"])
    header, *rows = _cli(gateway, "token", "list", tenant_id).stdout.splitlines()
    assert header.split() == ["ID", "ISSUED"] and [row.split()[0] for row in rows] == [
        str(first_id),
        str(second_id),
    ]
    assert second not in _cli(gateway, "token", "list", tenant_id).stdout  # ids, never the tokens
    assert (
        _cli(gateway, "token", "revoke", tenant_id, "--id", str(first_id)).stdout
        == f"revoked token {first_id}\n"
    )
    assert gateway.tenant_of(second) == tenant_id  # the other one still works
    assert [
        token["id"] for token in _document(_cli(gateway, "--json", "token", "list", tenant_id))["tokens"]
    ] == [second_id]
    _failed(_cli(gateway, "token", "revoke", tenant_id, "--id", str(first_id)), ExitCode.NOT_FOUND)


TENANT_COMMANDS = [
    ["token", "issue"],
    ["token", "rotate"],
    ["token", "revoke"],
    ["token", "list"],
    ["token", "revoke", "{tenant}", "--id", "1"],
    ["seats", "show"],
    ["seats", "set", "{tenant}", "5"],
    ["seats", "reconcile", "{tenant}", "--repair"],
    ["team", "list"],
    ["team", "create", "{tenant}", "Sales"],
    ["team", "rename", "{tenant}", "team-1", "Sales"],
    ["team", "members", "{tenant}", "team-1", "--add", "user-1"],
    ["team", "delete", "{tenant}", "team-1"],
    ["team", "release", "{tenant}", "team-1"],
    ["default-manager", "show"],
    ["default-manager", "set", "{tenant}", "user-1"],
    ["default-manager", "clear"],
]


def test_a_gateway_url_with_a_path_is_a_usage_error_not_a_missing_tenant(gateway: Gateway) -> None:
    """``--gateway-url …/scim/v2`` (the URL the IdP is given) finds no admin route: exit 2 saying so,
    not exit 3 "no such tenant"."""
    misplaced = Gateway(f"{gateway.url}/scim/v2", gateway.engine)
    result = _cli(misplaced, "tenant", "list")
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert "has no Roster admin API" in result.stderr and "gateway's root" in result.stderr
    unknown = _cli(gateway, "seats", "show", "no-such-tenant")
    assert unknown.exit_code == ExitCode.NOT_FOUND, unknown.stderr  # a real 404 stays one


def test_every_command_on_an_unknown_tenant_exits_3(gateway: Gateway) -> None:
    for command in TENANT_COMMANDS:
        args = [arg.replace("{tenant}", "no-such-tenant") for arg in command]
        if "{tenant}" not in command:
            args.append("no-such-tenant")
        for as_json in ([], ["--json"]):
            line = _failed(_cli(gateway, *as_json, *args), ExitCode.NOT_FOUND)
            assert "no tenant with id 'no-such-tenant'" in line, (args, line)


def test_a_wrong_admin_token_exits_6_and_changes_nothing(gateway: Gateway) -> None:
    tenant_id = _cli(gateway, "tenant", "create", "Locked Co").stdout.splitlines()[0]
    scim_token = _document(_cli(gateway, "--json", "token", "issue", tenant_id))["scim_token"]
    for command in (["tenant", "list"], ["token", "revoke", tenant_id], ["tenant", "create", "Other Co"]):
        line = _failed(_cli(gateway, *command, token=scim_token), ExitCode.UNAUTHORIZED)  # a tenant's token
        assert line == "roster-admin: 401: Admin credential missing or wrong."
    assert gateway.tenants() == {tenant_id: "Locked Co"} and gateway.tenant_of(scim_token) == tenant_id


@pytest.mark.parametrize(
    "command",
    [
        ["tenant", "create", "   "],
        ["tenant", "create", "\u200b"],
        ["tenant", "create", "x" * 201],
        ["team", "create", "{tenant}", " "],
        ["team", "create", "{tenant}", "\ufeff"],
    ],
    ids=["blank tenant", "invisible tenant", "long tenant", "blank team", "invisible team"],
)
def test_input_the_gateway_refuses_exits_7_and_changes_nothing(gateway: Gateway, command: list[str]) -> None:
    tenant_id = _cli(gateway, "tenant", "create", "Existing Co").stdout.splitlines()[0]
    args = [tenant_id if arg == "{tenant}" else arg for arg in command]
    line = _failed(_cli(gateway, *args), ExitCode.REFUSED)
    assert line.startswith("roster-admin: 400: Invalid request parameter body.")
    assert gateway.tenants() == {tenant_id: "Existing Co"}
