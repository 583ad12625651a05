"""What the hostile-input tests share: one seeded tenant none of them may change, its state read before
and after, and the exact SCIM error each refusal must be (RFC 7644 §3.12)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.okta import user_body
from tests.stack import Stack, Tenant
from tests.teams_client import eventually

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = {"Content-Type": "application/scim+json"}


@dataclass(frozen=True)
class Seeded:
    tenant: Tenant
    user_id: str
    group_id: str
    scim: httpx.Client
    admin: httpx.Client


@contextmanager
def seeded_tenant(stack: Stack, name: str) -> Iterator[Seeded]:
    """One tenant with one user and one group."""
    tenant = stack.new_tenant(name)
    with (
        httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=30) as scim,
        stack.admin() as admin,
    ):
        user = scim.post("/Users", json=user_body("seed@example.com"))
        group = scim.post("/Groups", json={"displayName": "Seed", "members": [{"value": user.json()["id"]}]})
        assert user.status_code == 201 and group.status_code == 201, (user.text, group.text)
        # The teams service learns the member's name from the users events, after both answers:
        # "nothing changed" is only measurable once the seed itself has settled.
        settled: list[str | None] = ["seed@example.com"]
        assert eventually(lambda: _member_names(admin, tenant.id), settled) == settled
        yield Seeded(tenant, user.json()["id"], group.json()["id"], scim, admin)


def _member_names(admin: httpx.Client, tenant_id: str) -> list[str | None]:
    teams = admin.get(f"/tenants/{tenant_id}/teams").json()["teams"]
    return [member["display"] for team in teams for member in team["members"]]


def state_of(seeded: Seeded) -> list[Any]:
    """Everything a refused request could have changed: users, groups, tenants, seats, default manager."""
    scim, admin, tenant = seeded.scim, seeded.admin, seeded.tenant.id
    reads = [
        scim.get("/Users", params={"count": "200"}),
        scim.get("/Groups", params={"count": "200"}),
        admin.get("/tenants"),
        admin.get(f"/tenants/{tenant}/seats"),
        admin.get(f"/tenants/{tenant}/teams"),
        admin.get(f"/tenants/{tenant}/default-manager"),
    ]
    assert all(read.status_code == 200 for read in reads), [read.text for read in reads]
    return [read.json() for read in reads]


def assert_error(response: httpx.Response, status: int, scim_type: str | None, case: object = None) -> None:
    asked = (case, response.request.method, str(response.request.url)[:200], response.text[:500])
    assert response.status_code == status, asked
    assert response.headers["content-type"].startswith("application/scim+json"), asked
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type, asked
    assert body["detail"].strip()
