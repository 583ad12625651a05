"""The admin API through its console client, against the running gateway."""

from __future__ import annotations

import httpx
import pytest

from services.gateway.cli import main as roster_admin
from tests.stack import Stack
from tests.teams_client import GROUP, create_user, eventually

pytestmark = pytest.mark.slow


def _cli(stack: Stack, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    url = f"http://127.0.0.1:{stack.gateway_ports[0]}"
    status = roster_admin(["--url", url, "--token", stack.admin_token, *args])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def _value(lines: list[str], key: str) -> str:
    return next(line.split("=", 1)[1] for line in lines if line.startswith(f"{key}="))


def test_tenant_and_token_lifecycle(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _cli(stack, capsys, "tenant", "create", "Initech CLI")
    assert status == 0
    tenant_id, first = _value(out, "TENANT_ID"), _value(out, "SCIM_TOKEN")
    assert len(first) >= 43  # 32 random bytes, URL-safe base64, plus the prefix

    def users_status(token: str) -> int:
        return httpx.get(f"{stack.base_url}/Users", headers={"Authorization": f"Bearer {token}"}).status_code

    assert users_status(first) == 200
    status, out, _ = _cli(stack, capsys, "token", "issue", tenant_id)
    second = _value(out, "SCIM_TOKEN")
    assert status == 0 and users_status(first) == users_status(second) == 200

    status, out, _ = _cli(stack, capsys, "token", "rotate", tenant_id)
    third = _value(out, "SCIM_TOKEN")
    assert (users_status(first), users_status(second), users_status(third)) == (401, 401, 200)

    status, out, _ = _cli(stack, capsys, "tenant", "list")
    [row] = [line for line in out if line.startswith(tenant_id)]
    assert "Initech CLI" in row and "active_tokens=1" in row and "seats=0/" in row

    status, out, _ = _cli(stack, capsys, "token", "revoke", tenant_id)
    assert (status, out) == (0, ["revoked 1 token(s)"])
    assert users_status(third) == 401


def test_errors_are_one_line_and_a_nonzero_exit(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    _cli(stack, capsys, "tenant", "create", "Duplicate Co")
    status, out, err = _cli(stack, capsys, "tenant", "create", "duplicate co")
    assert status == 1 and out == []
    assert err.count("\n") == 1 and "already exists" in err
    status, _, err = _cli(stack, capsys, "token", "rotate", "no-such-tenant")
    assert status == 1 and "no tenant" in err and err.count("\n") == 1


def test_a_scim_token_is_not_an_admin_credential(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    tenant = stack.new_tenant("not-admin")
    url = f"http://127.0.0.1:{stack.gateway_ports[0]}"
    status = roster_admin(["--url", url, "--token", tenant.token, "tenant", "list"])
    assert status == 1 and "401" in capsys.readouterr().err


def test_seat_limits_through_the_cli(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _cli(stack, capsys, "tenant", "create", "Seated Co", "--seats", "3")
    assert status == 0 and _value(out, "SEATS") == "0/3"
    tenant_id = _value(out, "TENANT_ID")
    assert _cli(stack, capsys, "seats", "show", tenant_id)[1] == ["seats used 0 of 3"]
    assert _cli(stack, capsys, "seats", "set", tenant_id, "5")[1] == ["seats used 0 of 5"]
    status, _, err = _cli(stack, capsys, "seats", "set", tenant_id, "-1")
    assert status == 1 and "400" in err and "greater than or equal to 0" in err
    status, _, err = _cli(stack, capsys, "seats", "show", "no-such-tenant")
    assert status == 1 and "no tenant" in err


def test_portal_teams_and_the_default_manager_through_the_cli(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = _cli(stack, capsys, "tenant", "create", "Teams CLI Co")
    tenant_id, token = _value(out, "TENANT_ID"), _value(out, "SCIM_TOKEN")
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}) as scim:
        ann = create_user(scim, "ann@cli.example", role="manager")
        bob = create_user(scim, "bob@cli.example", role="coach")

    status, out, _ = _cli(stack, capsys, "team", "create", tenant_id, "Field Sales", "--member", ann)
    team_id = _value(out, "TEAM_ID")
    assert status == 0 and out[1] == f"{team_id}\tField Sales\tsource=portal\tnot-linked\tleader=-\tmembers=1"
    status, out, _ = _cli(stack, capsys, "team", "members", tenant_id, team_id, "--add", bob, "--remove", ann)
    assert status == 0 and out[0].endswith("members=1")
    status, out, _ = _cli(stack, capsys, "team", "rename", tenant_id, team_id, "Field Sales EMEA")
    assert status == 0 and "\tField Sales EMEA\t" in out[0]
    expected = [
        f"{team_id}\tField Sales EMEA\tsource=portal\tnot-linked\tleader=-\tmembers=1",
        f"  member {bob}\tbob@cli.example",  # the userName, once the teams service heard of bob
    ]
    listed = eventually(
        lambda: _cli(stack, capsys, "team", "list", tenant_id, "--source", "portal")[1], expected
    )
    assert listed == expected

    # Okta links it by name; from then on the portal may not change it (one-way sync).
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}) as scim:
        pushed = scim.post(
            "/Groups", json={"schemas": [GROUP], "displayName": "field sales emea", "members": []}
        )
        assert pushed.status_code == 201 and pushed.json()["id"] == team_id
    status, out, err = _cli(stack, capsys, "team", "rename", tenant_id, team_id, "Renamed")
    assert status == 1 and out == [] and "identity provider" in err and err.count("\n") == 1
    status, _, err = _cli(stack, capsys, "team", "delete", tenant_id, team_id)
    assert status == 1 and "identity provider" in err
    # Okta unlinked it and kept the group: the admin hands it back to the portal.
    status, out, _ = _cli(stack, capsys, "team", "release", tenant_id, team_id)
    assert status == 0 and out[0].endswith("source=portal\tnot-linked\tleader=-\tmembers=1")
    assert _cli(stack, capsys, "team", "rename", tenant_id, team_id, "Field Sales (old)")[0] == 0

    # The default manager: a Coach is refused with the reason, a manager accepted.
    status, _, err = _cli(stack, capsys, "default-manager", "set", tenant_id, bob)
    assert status == 1 and "role coach" in err
    status, out, _ = _cli(stack, capsys, "default-manager", "set", tenant_id, ann)
    assert status == 0 and out == [
        f"default manager: {ann}",
        f"  chosen by an admin: {ann}",
        f"  first coach added: {bob}",
    ]
    status, out, _ = _cli(stack, capsys, "default-manager", "clear", tenant_id)
    assert status == 0 and out[0] == f"default manager: {bob}"
