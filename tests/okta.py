"""Request bodies exactly as Okta sends them (docs/scim-clients.md)."""

from __future__ import annotations

from typing import Any

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OKTA_USER_AGENT = "Okta SCIM Client 1.0.0"


def user_body(user_name: str, **overrides: Any) -> dict[str, Any]:
    local = user_name.split("@")[0]
    body: dict[str, Any] = {
        "schemas": [CORE, ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": local.title(), "familyName": "Tester"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{local.title()} Tester",
        "locale": "en-US",
        "externalId": f"00u{local}",
        "groups": [],
        "password": "Okta-Placeholder-1!",
        "active": True,
        "title": "Account Executive",
        ENTERPRISE: {
            "department": "Sales",
            "employeeNumber": "E-1",
            "manager": {"value": "boss@example.com"},
        },
    }
    body.update(overrides)
    return body


def filter_params(user_name: str) -> dict[str, str]:
    return {"filter": f'userName eq "{user_name}"', "startIndex": "1", "count": "100"}


GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def group_body(display_name: str, member_ids: list[str]) -> dict[str, Any]:
    """Okta's Push Groups create."""
    return {
        "schemas": [GROUP],
        "displayName": display_name,
        "members": [{"value": user_id, "display": user_id} for user_id in member_ids],
    }


def group_patch(group_id: str, user_id: str) -> dict[str, Any]:
    """Okta's push: the rename it sends with every update, then members added and removed by filter."""
    return {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "value": {"id": group_id, "displayName": "Pushed"}},
            {"op": "add", "path": "members", "value": [{"value": user_id, "display": user_id}]},
            {"op": "remove", "path": f'members[value eq "{user_id}"]'},
        ],
    }


def user_patch() -> dict[str, Any]:
    """Okta's deactivation."""
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
