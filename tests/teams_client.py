"""Helpers for the teams end-to-end tests: Okta's group requests and the admin view of teams."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from tests.okta import user_body

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ROSTER = "urn:roster:params:scim:schemas:extension:roster:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

T = TypeVar("T")


def create_user(
    scim: httpx.Client, user_name: str, *, manager: str | None = None, role: str = "learner", **overrides: Any
) -> str:
    local = user_name.split("@")[0]
    body = user_body(user_name, externalId=f"00u{local}", **overrides)
    body[ENTERPRISE] = {
        "employeeNumber": f"E-{local}",
        **({"manager": {"value": manager}} if manager else {}),
    }
    body["schemas"] = [*body["schemas"], ROSTER]
    body[ROSTER] = {"role": role}
    created = scim.post("/Users", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def patch_group(scim: httpx.Client, group_id: str, *operations: dict[str, Any]) -> httpx.Response:
    return scim.patch(f"/Groups/{group_id}", json={"schemas": [PATCH_OP], "Operations": list(operations)})


def group_members(scim: httpx.Client, group_id: str) -> set[str]:
    response = scim.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    return {member["value"] for member in response.json().get("members", [])}


def member_ref(user_id: str) -> dict[str, str]:
    return {"value": user_id, "display": user_id}


def admin_teams(admin: httpx.Client, tenant_id: str, source: str) -> list[dict[str, Any]]:
    response = admin.get(f"/tenants/{tenant_id}/teams", params={"source": source})
    assert response.status_code == 200, response.text
    return list(response.json()["teams"])


def manager_teams(admin: httpx.Client, tenant_id: str) -> dict[str, set[str]]:
    """leader → member ids of the tenant's manager teams, as the admin API lists them."""
    return {
        team["leader_id"]: {member["user_id"] for member in team["members"]}
        for team in admin_teams(admin, tenant_id, "manager")
    }


def eventually(read: Callable[[], T], expected: T, *, timeout: float = 30.0) -> T:
    """Derived state (manager teams) follows the users events asynchronously: poll until it settles."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def stays(read: Callable[[], T], expected: T, *, seconds: float = 2.0) -> None:
    """Asserts that derived state holds ``expected`` throughout (a change that should *not* happen
    would otherwise be checked before the events that would cause it were even consumed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert read() == expected
        time.sleep(0.2)


def provision_user_in_group(scim: httpx.Client, user_name: str) -> None:
    """A user (gateway → users → seats → users → gateway) in a new group (→ teams): every service
    answered."""
    user_id = create_user(scim, user_name)
    body = {"schemas": [GROUP], "displayName": f"Team {user_name}", "members": [{"value": user_id}]}
    group = scim.post("/Groups", json=body)
    assert group.status_code == 201, group.text
    assert group_members(scim, group.json()["id"]) == {user_id}
