"""Managers and manager-derived teams over HTTP: reports before their manager, the first Coach as the
default, a manager deactivated and reactivated — the manager teams checked after each step."""

from __future__ import annotations

import httpx
import pytest

from tests.stack import Stack, Tenant
from tests.teams_client import PATCH_OP, create_user, eventually, manager_teams, stays

pytestmark = pytest.mark.slow


def _set_active(scim: httpx.Client, user_id: str, active: bool) -> None:
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": active}}]}
    assert scim.patch(f"/Users/{user_id}", json=body).status_code == 200


def test_manager_scenario(stack: Stack, tenant: Tenant, scim: httpx.Client) -> None:
    with stack.admin() as admin:

        def teams() -> dict[str, set[str]]:
            return manager_teams(admin, tenant.id)

        # Reports arrive before their manager, while the tenant has no Coach: nobody to fall back on.
        r1 = create_user(scim, "r1@mgr.example", manager="MGR@mgr.example")  # by email, another case
        r2 = create_user(scim, "r2@mgr.example", manager="E-mgr")  # by employeeNumber
        nobody: dict[str, set[str]] = {}
        stays(teams, nobody)

        # The first Coach becomes the default manager: the waiting reports get them.
        coach = create_user(scim, "coach@mgr.example", role="coach")
        assert eventually(teams, {coach: {r1, r2}}) == {coach: {r1, r2}}
        coach2 = create_user(scim, "coach2@mgr.example", role="coach")  # the second Coach changes nothing
        assert eventually(teams, {coach: {r1, r2, coach2}}) == {coach: {r1, r2, coach2}}

        # The manager is provisioned: both reports are re-linked; the manager has the default.
        mgr = create_user(scim, "mgr@mgr.example", role="manager")
        expected = {mgr: {r1, r2}, coach: {mgr, coach2}}
        assert eventually(teams, expected) == expected

        # Deactivated manager: reports fall back to the default; back on reactivation.
        _set_active(scim, mgr, False)
        expected = {coach: {r1, r2, coach2}}
        assert eventually(teams, expected) == expected
        _set_active(scim, mgr, True)
        expected = {mgr: {r1, r2}, coach: {mgr, coach2}}
        assert eventually(teams, expected) == expected

        # The admin's choice of default must be a manager or above.
        refused = admin.put(f"/tenants/{tenant.id}/default-manager", json={"user_id": coach2})
        assert refused.status_code == 400 and "manager" in refused.json()["detail"]
        chosen = admin.put(f"/tenants/{tenant.id}/default-manager", json={"user_id": mgr})
        assert chosen.status_code == 200 and chosen.json()["effective_id"] == mgr
        # Now everyone without a manager of their own reports to mgr (coach, coach2 by default).
        expected = {mgr: {r1, r2, coach, coach2}}
        assert eventually(teams, expected) == expected

        # Deleting the manager empties their team; reports fall back to the first Coach.
        assert scim.delete(f"/Users/{mgr}").status_code == 204
        expected = {coach: {r1, r2, coach2}}
        assert eventually(teams, expected) == expected
