"""Discovery endpoints (RFC 7644 §4) on a bare FastAPI app: no Kafka, no database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scim2_models import (
    Context,
    EnterpriseUser,
    Error,
    ListResponse,
    Resource,
    ResourceType,
    Schema,
    ScimProvider,
    ServiceProviderConfig,
    User,
)

from contracts.scim import GROUP_URN, ROSTER_USER_URN, RosterUser
from services.gateway.config import GatewaySettings
from services.gateway.http.auth import TenantId
from services.gateway.http.errors import install_scim_error_handlers
from services.gateway.http.responses import SCIM_MEDIA_TYPE
from services.gateway.scim import discovery
from services.gateway.scim.discovery import AdvertisedUser
from tests.okta import CORE, ENTERPRISE, user_body

BASE = "http://testserver/scim/v2"
MAX_PAGE_SIZE = 250
QUERY = Context.RESOURCE_QUERY_RESPONSE


def _app(*, authenticated: bool) -> FastAPI:
    app = FastAPI()
    install_scim_error_handlers(app)
    app.include_router(discovery.router)
    app.state.settings = GatewaySettings.model_validate(
        {"ROSTER_ADMIN_TOKEN": "x" * 32, "max_page_size": MAX_PAGE_SIZE}
    )
    if authenticated:
        authenticate = get_args(TenantId)[1].dependency
        app.dependency_overrides[authenticate] = lambda: "tenant-1"
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(_app(authenticated=True)) as test_client:
        yield test_client


def _get(client: TestClient, path: str, status: int = 200) -> dict[str, Any]:
    response = client.get(f"/scim/v2{path}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == SCIM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    return body


def _attribute(schema: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [a for a in schema["attributes"] if a["name"] == name]
    assert found, f"{schema['id']} lacks {name}"
    return found[0]


def test_service_provider_config_tells_what_roster_supports(client: TestClient) -> None:
    body = _get(client, "/ServiceProviderConfig")
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert body["patch"] == {"supported": True}
    assert body["bulk"] == {"supported": False, "maxOperations": 0, "maxPayloadSize": 1048576}
    assert body["filter"] == {"supported": True, "maxResults": MAX_PAGE_SIZE}
    assert body["changePassword"] == {"supported": False}
    assert body["sort"] == {"supported": True}
    assert body["etag"] == {"supported": True}
    [scheme] = body["authenticationSchemes"]
    assert (scheme["type"], scheme["name"], scheme["primary"]) == (
        "oauthbearertoken",
        "OAuth Bearer Token",
        True,
    )
    assert "Roster admin CLI" in scheme["description"]
    assert body["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": f"{BASE}/ServiceProviderConfig",
    }
    config = ServiceProviderConfig.model_validate(body, scim_ctx=QUERY)
    assert config.filter is not None and config.filter.max_results == MAX_PAGE_SIZE


def test_schemas_list_the_user_and_group_schemas_with_integers_and_meta(client: TestClient) -> None:
    body = _get(client, "/Schemas")
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (4, 4, 1)
    assert all(type(body[key]) is int for key in ("totalResults", "itemsPerPage", "startIndex"))
    assert [s["id"] for s in body["Resources"]] == [CORE, ENTERPRISE, ROSTER_USER_URN, GROUP_URN]
    for schema in body["Resources"]:
        assert schema["meta"] == {"resourceType": "Schema", "location": f"{BASE}/Schemas/{schema['id']}"}
    parsed = ListResponse[Schema].model_validate(body, scim_ctx=QUERY)
    assert [s.id for s in parsed.resources or []] == [CORE, ENTERPRISE, ROSTER_USER_URN, GROUP_URN]


def test_group_schema_has_display_name_and_user_members_only(client: TestClient) -> None:
    group = _get(client, f"/Schemas/{GROUP_URN}")
    assert group["meta"]["location"] == f"{BASE}/Schemas/{GROUP_URN}"
    display_name = _attribute(group, "displayName")
    assert (display_name["type"], display_name["required"]) == ("string", True)
    assert (display_name["uniqueness"], display_name["caseExact"]) == ("server", False)  # 409 on a clash
    members = _attribute(group, "members")
    assert members["multiValued"] is True
    subs = {sub["name"]: sub for sub in members["subAttributes"]}
    assert set(subs) == {"value", "$ref", "type"}  # display is not kept, so not advertised
    # Roster refuses nested groups (400 invalidValue), so members are advertised as users only.
    assert subs["$ref"]["referenceTypes"] == ["User"]
    assert subs["type"]["canonicalValues"] == ["User"]
    Schema.model_validate(group, scim_ctx=QUERY)


def test_user_schema_has_what_okta_needs_and_nothing_roster_drops(client: TestClient) -> None:
    core = _get(client, f"/Schemas/{CORE}")
    user_name = _attribute(core, "userName")
    assert (user_name["uniqueness"], user_name["caseExact"], user_name["required"]) == ("server", False, True)
    assert _attribute(core, "active")["type"] == "boolean"
    emails = _attribute(core, "emails")
    assert emails["multiValued"] is True
    assert {"value", "type", "primary"} <= {sub["name"] for sub in emails["subAttributes"]}
    # id, externalId and meta are common attributes (RFC 7643 §3.1), in no schema.
    for name in ("name", "displayName", "phoneNumbers", "addresses", "locale", "title"):
        _attribute(core, name)
    advertised = {a["name"] for a in core["attributes"]}
    assert "roles" in advertised  # translate reads it as the Roster role when the extension is absent
    assert not advertised & {"password", "groups", "entitlements", "ims", "photos", "x509Certificates"}
    Schema.model_validate(core, scim_ctx=QUERY)


def test_enterprise_manager_is_advertised_without_requiring_a_ref(client: TestClient) -> None:
    enterprise = _get(client, f"/Schemas/{ENTERPRISE}")
    manager = _attribute(enterprise, "manager")
    subs = {sub["name"]: sub for sub in manager["subAttributes"]}
    assert {"value", "$ref", "displayName"} <= set(subs)
    assert not any(sub["required"] for sub in subs.values())
    assert _attribute(enterprise, "department")["type"] == "string"
    Schema.model_validate(enterprise, scim_ctx=QUERY)


def test_roster_extension_schema_describes_role(client: TestClient) -> None:
    roster = _get(client, f"/Schemas/{ROSTER_USER_URN}")
    assert [a["name"] for a in roster["attributes"]] == ["role"]
    role = roster["attributes"][0]
    assert role == {
        "name": "role",
        "type": "string",
        "multiValued": False,
        "description": "The user's Roster role; default learner.",
        "required": False,
        "canonicalValues": ["learner", "coach", "manager", "admin"],
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    }
    assert roster["meta"]["location"] == f"{BASE}/Schemas/{ROSTER_USER_URN}"
    Schema.model_validate(roster, scim_ctx=QUERY)


def test_resource_types_are_user_with_both_extensions_and_group(client: TestClient) -> None:
    body = _get(client, "/ResourceTypes")
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (2, 2, 1)
    [user, group] = body["Resources"]
    assert (user["id"], user["name"], user["endpoint"], user["schema"]) == ("User", "User", "/Users", CORE)
    assert user["schemaExtensions"] == [
        {"schema": ENTERPRISE, "required": False},
        {"schema": ROSTER_USER_URN, "required": False},
    ]
    assert user["meta"] == {"resourceType": "ResourceType", "location": f"{BASE}/ResourceTypes/User"}
    assert _get(client, "/ResourceTypes/User") == user
    assert (group["id"], group["name"], group["endpoint"], group["schema"]) == (
        "Group",
        "Group",
        "/Groups",
        GROUP_URN,
    )
    assert "schemaExtensions" not in group
    assert group["meta"] == {"resourceType": "ResourceType", "location": f"{BASE}/ResourceTypes/Group"}
    assert _get(client, "/ResourceTypes/group") == group  # ids are looked up case-insensitively
    ListResponse[ResourceType].model_validate(body, scim_ctx=QUERY)
    ResourceType.model_validate(group, scim_ctx=QUERY)


@pytest.mark.parametrize(
    "path", ["/Schemas/urn:ietf:params:scim:schemas:core:2.0:Agent", "/ResourceTypes/Agent", "/Schemas/nope"]
)
def test_unknown_ids_are_scim_404s(client: TestClient, path: str) -> None:
    body = _get(client, path, status=404)
    error = Error.model_validate(body)
    assert error.status == 404 and error.detail and "User" in error.detail and "Group" in error.detail


def test_single_documents_carry_content_location(client: TestClient) -> None:
    for path in ("/ServiceProviderConfig", "/ResourceTypes/Group", f"/Schemas/{GROUP_URN}"):
        response = client.get(f"/scim/v2{path}")
        assert response.headers["content-location"] == f"{BASE}{path}"


def test_filter_on_discovery_is_forbidden(client: TestClient) -> None:
    body = _get(client, "/Schemas?filter=id%20eq%20%22x%22", status=403)
    assert Error.model_validate(body).status == 403


NOT_IMPLEMENTED = [(m, "/Me") for m in ("GET", "POST", "PUT", "PATCH", "DELETE")] + [("POST", "/Bulk")]


@pytest.mark.parametrize(("method", "path"), NOT_IMPLEMENTED)
def test_me_and_bulk_are_not_implemented(client: TestClient, method: str, path: str) -> None:
    """RFC 7644 §3.11 (/Me) and §3.12 (an operation the provider does not support): 501, not 404."""
    response = client.request(method, f"/scim/v2{path}", json={})
    assert response.status_code == 501 and response.headers["content-type"] == SCIM_MEDIA_TYPE
    error = Error.model_validate(response.json())
    assert error.status == 501 and error.detail and path.strip("/") in error.detail


def test_discovery_requires_the_scim_token() -> None:
    with TestClient(_app(authenticated=False)) as anonymous:
        body = _get(anonymous, "/ServiceProviderConfig", status=401)
        assert Error.model_validate(body).status == 401
        for method, path in NOT_IMPLEMENTED:
            assert anonymous.request(method, f"/scim/v2{path}").status_code == 401, (method, path)


def test_published_documents_rebuild_a_provider_that_reads_okta_users(client: TestClient) -> None:
    schemas = ListResponse[Schema].model_validate(_get(client, "/Schemas"), scim_ctx=QUERY)
    types = ListResponse[ResourceType].model_validate(_get(client, "/ResourceTypes"), scim_ctx=QUERY)
    peer = ScimProvider.from_discovery(schemas.resources or [], types.resources or [])
    group_model = peer.model_for("Group")
    assert group_model is not None and issubclass(group_model, Resource)
    group = group_model.model_validate(
        {"schemas": [GROUP_URN], "displayName": "Sales West", "members": [{"value": "u1"}]},
        scim_ctx=Context.RESOURCE_CREATION_REQUEST,
    )
    assert group["displayName"] == "Sales West"
    model = peer.model_for("User")
    assert model is not None and issubclass(model, Resource)
    body = user_body("ann@example.com", **{ROSTER_USER_URN: {"role": "coach"}})
    body["schemas"].append(ROSTER_USER_URN)
    del body["password"], body["groups"]  # not advertised: Roster drops them
    user = model.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    assert user["userName"] == "ann@example.com"
    assert user[f"{ROSTER_USER_URN}:role"] == "coach"


def test_roster_extension_parses_with_the_advertised_user_model() -> None:
    assert User[EnterpriseUser | RosterUser] in AdvertisedUser.__mro__
    assert AdvertisedUser.get_extension_models() == {ENTERPRISE: EnterpriseUser, ROSTER_USER_URN: RosterUser}
    body = user_body("bo@example.com", **{ROSTER_USER_URN: {"role": "manager"}})
    body["schemas"].append(ROSTER_USER_URN)
    # Default context, as translate.parse_scim_user reads bodies: scim2-models' own EnterpriseUser
    # requires manager.$ref in request contexts, which Okta and Entra ID do not send.
    user = AdvertisedUser.model_validate(body)
    roster = user[RosterUser]
    assert isinstance(roster, RosterUser) and roster.role == "manager"
    enterprise = user[EnterpriseUser]
    assert isinstance(enterprise, EnterpriseUser) and enterprise.department == "Sales"
