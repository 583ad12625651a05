"""Requests the gateway answers itself, before anything reaches Kafka: authentication, unknown tenants and
malformed bodies on the SCIM /Groups and admin team routes. The app has no owners' clients at all, so a
request that tried to send a command would fail with 500 instead of the status asserted here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.gateway.admin import default_manager, teams
from services.gateway.config import GatewaySettings
from services.gateway.http.errors import install_scim_error_handlers
from services.gateway.http.known_tokens import KnownTokens
from services.gateway.http.ratelimit import TenantRateLimiter
from services.gateway.http.responses import SCIM_MEDIA_TYPE
from services.gateway.scim.groups import routes as groups
from services.gateway.scim.groups.patching import PATCH_OP_URN
from services.gateway.tests.database import gateway_database

ADMIN_TOKEN = "a" * 32
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
GROUP_ID = "6f1c2d4e-0a7b-4c3d-9e8f-1a2b3c4d5e6f"  # shaped as Roster mints ids: the body is what is refused


class Gateway:
    def __init__(self, client: TestClient, tenant_id: str, scim_token: str) -> None:
        self.client = client
        self.tenant_id = tenant_id
        self.scim = {"Authorization": f"Bearer {scim_token}"}
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    settings = GatewaySettings.model_validate(
        {"ROSTER_ADMIN_TOKEN": ADMIN_TOKEN, "max_group_body_bytes": 4096}
    )
    engine, tenant_id, token = gateway_database(tmp_path)
    app = FastAPI()
    install_scim_error_handlers(app)
    for module in (groups, teams, default_manager):
        app.include_router(module.router)
    app.state.settings = settings
    app.state.engine = engine
    app.state.rate_limiter = TenantRateLimiter(per_second=1000, burst=1000)
    app.state.known_tokens = KnownTokens(ttl_seconds=settings.token_cache_seconds)
    app.state.owners = None  # nothing may be sent: every request here is answered by the gateway
    with TestClient(app) as client:
        yield Gateway(client, tenant_id, token)
    engine.dispose()


def _error(response: Any, status: int, scim_type: str | None = None) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == SCIM_MEDIA_TYPE
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status) and body.get("scimType") == scim_type
    detail: str = body["detail"]
    assert detail
    return detail


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/Groups"),
        ("POST", "/Groups"),
        ("PATCH", "/Groups/" + GROUP_ID),
        ("DELETE", "/Groups/" + GROUP_ID),
    ],
)
def test_groups_need_the_scim_token(gateway: Gateway, method: str, path: str) -> None:
    response = gateway.client.request(method, f"/scim/v2{path}", headers={"Authorization": "Bearer nope"})
    _error(response, 401)


@pytest.mark.parametrize(
    ("body", "scim_type", "words"),
    [
        ({"schemas": [GROUP], "members": []}, "invalidValue", "displayName is required"),
        ({"displayName": "Sales", "members": [{"value": "g1", "type": "Group"}]}, "invalidValue", "nested"),
        ({"displayName": "Sales", "members": [{"display": "x"}]}, "invalidValue", '"value"'),
        (["not", "an", "object"], "invalidSyntax", "JSON object"),
    ],
)
def test_bad_group_bodies_are_refused_before_anything_is_sent(
    gateway: Gateway, body: Any, scim_type: str, words: str
) -> None:
    for method, path in (("POST", "/Groups"), ("PUT", "/Groups/" + GROUP_ID)):
        response = gateway.client.request(method, f"/scim/v2{path}", json=body, headers=gateway.scim)
        assert words in _error(response, 400, scim_type)


def test_bad_patches_are_refused_before_anything_is_sent(gateway: Gateway) -> None:
    operations = [{"op": "jump", "path": "members", "value": []}]
    body = {"schemas": [PATCH_OP_URN], "Operations": operations}
    response = gateway.client.patch(f"/scim/v2/Groups/{GROUP_ID}", json=body, headers=gateway.scim)
    _error(response, 400, "invalidSyntax")
    body = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "remove", "path": "shoeSize"}]}
    response = gateway.client.patch(f"/scim/v2/Groups/{GROUP_ID}", json=body, headers=gateway.scim)
    _error(response, 400, "invalidPath")


def test_group_bodies_have_their_own_size_limit(gateway: Gateway) -> None:
    members = [{"value": f"user-{i}"} for i in range(500)]
    response = gateway.client.post(
        "/scim/v2/Groups", json={"displayName": "Big", "members": members}, headers=gateway.scim
    )
    assert "4096 bytes" in _error(response, 413)


def test_bad_listing_parameters(gateway: Gateway) -> None:
    response = gateway.client.get("/scim/v2/Groups?count=many", headers=gateway.scim)
    _error(response, 400, "invalidValue")
    response = gateway.client.get(
        "/scim/v2/Groups?attributes=displayName&excludedAttributes=members", headers=gateway.scim
    )
    _error(response, 400, "invalidValue")
    response = gateway.client.post("/scim/v2/Groups/.search", json=[1], headers=gateway.scim)
    _error(response, 400, "invalidSyntax")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/teams", None),
        ("POST", "/teams", {"display_name": "Team"}),
        ("PATCH", "/teams/t1", {"display_name": "Team"}),
        ("POST", "/teams/t1/members", {"add": ["u1"]}),
        ("DELETE", "/teams/t1", None),
        ("GET", "/default-manager", None),
        ("PUT", "/default-manager", {"user_id": None}),
    ],
)
def test_admin_routes_need_the_admin_credential_and_a_known_tenant(
    gateway: Gateway, method: str, path: str, body: Any
) -> None:
    tenant_path = f"/admin/v1/tenants/{gateway.tenant_id}{path}"
    _error(gateway.client.request(method, tenant_path, json=body, headers=gateway.scim), 401)
    unknown = gateway.client.request(
        method, f"/admin/v1/tenants/no-such-tenant{path}", json=body, headers=gateway.admin
    )
    assert "no-such-tenant" in _error(unknown, 404)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/teams", {"display_name": ""}),
        ("POST", "/teams", {"display_name": "   "}),
        ("POST", "/teams", {"display_name": "\u200b"}),
        ("POST", "/teams", {"member_ids": ["u1"]}),
        ("POST", "/teams", {"display_name": "Team", "member_ids": "u1"}),
        ("PATCH", "/teams/t1", {"display_name": ""}),
        ("PATCH", "/teams/t1", {}),
        ("POST", "/teams/t1/members", {"add": "u1"}),
        ("PUT", "/default-manager", {}),
        ("PUT", "/default-manager", {"user_id": 7}),
        ("GET", "/teams?source=okta", None),
    ],
)
def test_admin_request_validation(gateway: Gateway, method: str, path: str, body: Any) -> None:
    response = gateway.client.request(
        method, f"/admin/v1/tenants/{gateway.tenant_id}{path}", json=body, headers=gateway.admin
    )
    _error(response, 400, "invalidValue")
