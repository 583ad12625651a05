"""roster-admin against the running gateway: what it prints, its JSON documents and its exit codes."""

from __future__ import annotations

import json
import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from roster_cli.app import app
from roster_cli.errors import ExitCode
from tests.stack import Stack, Tenant
from tests.teams_client import GROUP, create_user, eventually

pytestmark = pytest.mark.slow


def _cli(stack: Stack, *args: str, url: str | None = None) -> Result:
    url = url or f"http://127.0.0.1:{stack.gateway_ports[0]}"
    # Wide enough that no table cell is folded; ROSTER_ADMIN_* of the environment must not leak in.
    env = {"COLUMNS": "250", "ROSTER_ADMIN_URL": None, "ROSTER_ADMIN_TOKEN": None}
    return CliRunner().invoke(app, ["--url", url, "--token", stack.admin_token, *args], env=env)


def _document(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _value(result: Result, key: str) -> str:
    return next(line.split("=", 1)[1] for line in result.stdout.splitlines() if line.startswith(f"{key}="))


def _failed(result: Result, code: ExitCode) -> str:
    """The one stderr line of a failure with this exit code (and nothing on stdout)."""
    assert (result.exit_code, result.stdout) == (code, ""), (result.exit_code, result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    return line


def _words(line: str) -> str:
    """A table row with its column padding squeezed to single spaces."""
    return " ".join(line.split())


def _users_status(stack: Stack, token: str) -> int:
    return httpx.get(f"{stack.base_url}/Users", headers={"Authorization": f"Bearer {token}"}).status_code


def test_json_gives_one_document_with_stable_keys(stack: Stack) -> None:
    created = _document(_cli(stack, "--json", "tenant", "create", "Json Co", "--seats", "3"))
    assert set(created) == {"tenant", "seats", "scim_token", "unfinished"}
    tenant = created["tenant"]
    assert (tenant["name"], created["unfinished"]) == ("Json Co", [])
    assert tenant["active_tokens"] == 1  # the token it just issued
    assert created["seats"] == {"used": 0, "limit": 3, "set_aside": 0}
    assert _users_status(stack, created["scim_token"]) == 200

    [listed] = [
        t for t in _document(_cli(stack, "--json", "tenant", "list"))["tenants"] if t["id"] == tenant["id"]
    ]
    assert listed == {**tenant, "active_tokens": 1, "seats": {"used": 0, "limit": 3, "set_aside": 0}}

    seats = {"tenant_id": tenant["id"], "used": 0, "limit": 4, "set_aside": 0}
    assert _document(_cli(stack, "--json", "seats", "set", tenant["id"], "4")) == seats
    assert _document(_cli(stack, "--json", "seats", "show", tenant["id"])) == seats
    assert _document(_cli(stack, "--json", "seats", "reconcile", tenant["id"])) == {
        "tenant_id": tenant["id"],
        "seats_without_active_user": [],
        "active_users_without_seat": [],
        "waiting_for_seat": [],
        "set_aside": 0,
        "allowance_unspent": 0,
        "repair_requested": False,
    }
    assert _document(_cli(stack, "--json", "default-manager", "show", tenant["id"])) == {
        "tenant_id": tenant["id"],
        "effective_id": None,
        "chosen_id": None,
        "first_coach_id": None,
    }
    assert _document(_cli(stack, "--json", "team", "list", tenant["id"])) == {
        "tenant_id": tenant["id"],
        "teams": [],
    }


def test_team_changes_the_services_refuse_exit_with_their_codes(stack: Stack, tenant: Tenant) -> None:
    assert "no-such-team" in _failed(
        _cli(stack, "team", "delete", tenant.id, "no-such-team"), ExitCode.NOT_FOUND
    )
    unknown_member = _cli(stack, "team", "create", tenant.id, "Ghosts", "--member", "no-such-user")
    assert "no-such-user" in _failed(unknown_member, ExitCode.REFUSED)
    assert _document(_cli(stack, "--json", "team", "list", tenant.id))["teams"] == []  # nothing created


def test_seat_limits_through_the_cli(stack: Stack) -> None:
    created = _cli(stack, "tenant", "create", "Seated Co", "--seats", "3")
    assert created.exit_code == 0 and _value(created, "SEATS") == "0/3"
    tenant_id, *lines = created.stdout.splitlines()  # the id alone first, for `| head -1`
    assert [line.split("=")[0] for line in lines] == ["SEATS", "SCIM_TOKEN"]
    assert _cli(stack, "seats", "show", tenant_id).stdout == "seats used 0 of 3\n"
    assert _cli(stack, "seats", "set", tenant_id, "5").stdout == "seats used 0 of 5\n"
    [row] = [line for line in _cli(stack, "tenant", "list").stdout.splitlines() if line.startswith(tenant_id)]
    assert "Seated Co" in row and row.split()[-3:-1] == ["0/5", "1"]  # seats used/limit, tokens
    reconciled = _cli(stack, "seats", "reconcile", tenant_id, "--repair")
    assert reconciled.stdout == "no drift: every active user holds exactly one seat\n"


def test_portal_teams_and_the_default_manager_through_the_cli(stack: Stack) -> None:
    created = _cli(stack, "tenant", "create", "Teams CLI Co")
    tenant_id, token = created.stdout.splitlines()[0], _value(created, "SCIM_TOKEN")
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}) as scim:
        ann = create_user(scim, "ann@cli.example", role="manager")
        bob = create_user(scim, "bob@cli.example", role="coach")

    made = _cli(stack, "team", "create", tenant_id, "Field Sales", "--member", ann)
    team_id = made.stdout.splitlines()[0]
    row = _words(made.stdout.splitlines()[2])  # after the id and the table's header
    assert made.exit_code == 0 and row.startswith(f"{team_id} Field Sales portal not linked - 1, {ann}")
    changed = _cli(stack, "--json", "team", "members", tenant_id, team_id, "--add", bob, "--remove", ann)
    assert _document(changed)["member_count"] == 1
    renamed = _document(_cli(stack, "--json", "team", "rename", tenant_id, team_id, "Field Sales EMEA"))
    assert (renamed["id"], renamed["display_name"]) == (team_id, "Field Sales EMEA")

    def listed() -> list[str]:
        table = _cli(stack, "team", "list", tenant_id, "--source", "portal").stdout.splitlines()
        return [_words(line) for line in table[1:]]

    # Piped: the row holds its members (the userName once the teams service heard of bob).
    expected = [f"{team_id} Field Sales EMEA portal not linked - 1, {bob} bob@cli.example"]
    assert eventually(listed, expected) == expected

    # Okta links it by name; from then on the portal may not change it (one-way sync).
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}) as scim:
        pushed = scim.post(
            "/Groups", json={"schemas": [GROUP], "displayName": "field sales emea", "members": []}
        )
        assert pushed.status_code == 201 and pushed.json()["id"] == team_id
    assert "identity provider" in _failed(
        _cli(stack, "team", "rename", tenant_id, team_id, "X"), ExitCode.REFUSED
    )
    assert "identity provider" in _failed(_cli(stack, "team", "delete", tenant_id, team_id), ExitCode.REFUSED)
    # Okta unlinked it and kept the group: the admin hands it back to the portal.
    released = _document(_cli(stack, "--json", "team", "release", tenant_id, team_id))
    assert (released["source"], released["linked"], released["member_count"]) == ("portal", False, 1)
    assert _cli(stack, "team", "rename", tenant_id, team_id, "Field Sales (old)").exit_code == 0
    assert _cli(stack, "team", "delete", tenant_id, team_id).stdout == f"deleted team {team_id}\n"

    # The default manager: a Coach is refused with the reason, a manager accepted.
    assert "role coach" in _failed(_cli(stack, "default-manager", "set", tenant_id, bob), ExitCode.REFUSED)
    chosen = _cli(stack, "default-manager", "set", tenant_id, ann)
    assert chosen.stdout.splitlines() == [
        f"default manager: {ann}",
        f"  chosen by an admin: {ann}",
        f"  first coach added: {bob}",
    ]
    assert (
        _cli(stack, "default-manager", "clear", tenant_id).stdout.splitlines()[0] == f"default manager: {bob}"
    )


def test_team_list_reads_every_page(stack: Stack, tenant: Tenant) -> None:
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=30) as scim:

        def push(n: int) -> str:
            body = {"schemas": [GROUP], "displayName": f"Group {n:03}", "members": []}
            return str(scim.post("/Groups", json=body).raise_for_status().json()["id"])

        with ThreadPoolExecutor(max_workers=4) as pool:
            pushed = list(pool.map(push, range(105)))  # the admin API sends at most 100 teams a page
    listed = [team["id"] for team in _document(_cli(stack, "--json", "team", "list", tenant.id))["teams"]]
    assert len(listed) == 105 and set(listed) == set(pushed)


def test_tenant_create_prints_the_id_first_and_how_to_finish_when_a_step_fails(stack: Stack) -> None:
    """The seats service is down: the tenant exists, setting its seats answers 503 after the gateway's
    timeout, and the admin learns the id and the commands that finish the job."""
    assert stack.seats is not None
    with stack.temporary_gateway("cli-seats-down", GATEWAY_REQUEST_TIMEOUT_SECONDS="2") as scim_url:
        url = scim_url.removesuffix("/scim/v2")
        stack.seats.stop()
        try:
            for_people = _cli(stack, "tenant", "create", "Half Made Co", "--seats", "5", url=url)
            for_scripts = _cli(
                stack, "--json", "tenant", "create", "Half Made Json Co", "--seats", "5", url=url
            )
            started = time.monotonic()
            listed = _cli(stack, "--json", "tenant", "list", url=url)
            listing_took = time.monotonic() - started
        finally:
            stack.start_seats()

        tenant_id = for_people.stdout.splitlines()[0]
        assert for_people.exit_code == ExitCode.UNAVAILABLE
        assert for_people.output.startswith(f"{tenant_id}\n")  # printed before the failure
        to_finish = f"roster-admin --gateway-url {url} seats set {tenant_id} 5"
        [error] = for_people.stderr.splitlines()
        assert (
            f"tenant {tenant_id} created, but setting the seat limit was not confirmed (it may still apply"
            " once the service answers): 503"
        ) in error
        assert error.endswith(f"; to finish: {to_finish}") and ".;" not in error
        # The token needs only the gateway: issued all the same.
        assert "SCIM_TOKEN=rst_" in for_people.stdout

        document = json.loads(for_scripts.stdout)
        assert for_scripts.exit_code == ExitCode.UNAVAILABLE and for_scripts.stderr.count("\n") == 1
        assert document["seats"] is None and document["scim_token"].startswith("rst_")
        assert document["unfinished"] == [
            f"roster-admin --gateway-url {url} seats set {document['tenant']['id']} 5"
        ]

        # The seats service down, tenants are still listed, without waiting once per tenant.
        [half_made] = [t for t in _document(listed)["tenants"] if t["id"] == tenant_id]
        assert (half_made["seats"], half_made["active_tokens"]) == (None, 1)
        assert listing_took < 8

        # The printed command finishes the job (the admin token comes from the environment).
        args = shlex.split(to_finish)[1:]
        finished = CliRunner().invoke(app, args, env={"ROSTER_ADMIN_TOKEN": stack.admin_token})
        assert finished.exit_code == 0, finished.stderr
    token = _value(for_people, "SCIM_TOKEN")
    assert _users_status(stack, token) == 200
    assert _document(_cli(stack, "--json", "seats", "show", tenant_id))["limit"] == 5
