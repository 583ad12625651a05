"""Request bodies shaped as Microsoft Entra ID sends them (scim-clients.md; Entra's SCIM validator)."""

from __future__ import annotations

from typing import Any

from tests.okta import CORE, ENTERPRISE

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user_body(user_name: str) -> dict[str, Any]:
    local = user_name.split("@")[0]
    return {
        "schemas": [CORE, ENTERPRISE],
        "externalId": f"{local}-object-id",
        "userName": user_name,
        "active": True,
        "displayName": local.title(),
        "title": "Sales Lead",
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": local.title(), "familyName": "Tester", "givenName": local.title()},
        "phoneNumbers": [{"type": "work", "value": "+44 20 7946 0000"}],
        "addresses": [{"type": "work", "locality": "London", "country": "GB", "primary": False}],
        "roles": [],
        ENTERPRISE: {"department": "Sales", "employeeNumber": "701", "manager": "manager-object-id"},
    }


def user_patch(manager_id: str) -> dict[str, Any]:
    """Entra's update: Replace with string booleans, value-filter paths, the manager as a bare string."""
    return {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+44 7700 900123"},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "renamed@example.com"},
            {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": manager_id},
            {"op": "Replace", "value": {"name.givenName": "Zoe", f"{ENTERPRISE}:department": "Ops"}},
            {"op": "Remove", "path": "roles", "value": [{"value": "coach"}]},
        ],
    }


def group_body(display_name: str) -> dict[str, Any]:
    return {"schemas": [GROUP], "externalId": f"{display_name}-object-id", "displayName": display_name}


def group_patch(user_id: str) -> dict[str, Any]:
    """Entra adds and removes members by listing them in ``value``."""
    return {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": user_id}]},
            {"op": "Remove", "path": "members", "value": [{"value": user_id}]},
            {"op": "Replace", "path": "displayName", "value": "Renamed in Entra"},
        ],
    }
