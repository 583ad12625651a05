"""Okta's create-user flow and every bad input, over HTTP through the gateway, Kafka and users."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.okta import ENTERPRISE, filter_params, user_body
from tests.stack import Stack, Tenant

pytestmark = pytest.mark.slow

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


def _assert_error(response: httpx.Response, status: int, scim_type: str | None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"].strip()


def _total(scim: httpx.Client) -> int:
    response = scim.get("/Users", params={"count": "0"})
    assert response.status_code == 200
    return int(response.json()["totalResults"])


def test_okta_create_flow(scim: httpx.Client) -> None:
    lookup = scim.get("/Users", params=filter_params("ann.lee@example.com"))
    assert lookup.status_code == 200
    assert lookup.headers["content-type"].startswith("application/scim+json")
    assert lookup.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }

    created = scim.post("/Users", json=user_body("ann.lee@example.com"))
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["id"] and user["userName"] == "ann.lee@example.com"
    assert created.headers["location"] == user["meta"]["location"]
    assert user["meta"]["location"].endswith(f"/Users/{user['id']}")
    assert user["meta"]["resourceType"] == "User"
    assert created.headers["etag"] == user["meta"]["version"]
    assert user[ENTERPRISE]["manager"] == {"value": "boss@example.com"}
    assert user["title"] == "Account Executive" and user["active"] is True
    assert "password" not in user

    fetched = scim.get(f"/Users/{user['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == user

    again = scim.post("/Users", json=user_body("ann.lee@example.com"))
    _assert_error(again, 409, "uniqueness")
    other_case = scim.post("/Users", json=user_body("ANN.LEE@Example.COM"))
    _assert_error(other_case, 409, "uniqueness")

    found = scim.get("/Users", params=filter_params("Ann.Lee@EXAMPLE.com")).json()
    assert found["totalResults"] == 1
    assert [r["id"] for r in found["Resources"]] == [user["id"]]
    assert _total(scim) == 1


def test_query_parameter_names_are_read_in_any_case(scim: httpx.Client) -> None:
    """RFC 7644 §3.4.2: a lookup spelled ``Filter=`` finds nothing rather than the whole tenant, which
    a client would link to."""
    for name in ("ann@example.com", "bob@example.com"):
        assert scim.post("/Users", json=user_body(name)).status_code == 201
    nobody = scim.get("/Users", params={"Filter": 'userName eq "nobody@example.com"', "COUNT": "5"})
    assert nobody.status_code == 200 and nobody.json()["totalResults"] == 0
    bob = scim.get("/Users", params={"FILTER": 'userName eq "BOB@example.com"', "Attributes": "userName"})
    [found] = bob.json()["Resources"]
    assert set(found) == {"schemas", "id", "userName"}
    one = scim.get(f"/Users/{found['id']}", params={"ExcludedAttributes": "emails,name"}).json()
    assert "emails" not in one and "name" not in one and one["userName"] == "bob@example.com"
    paged = scim.get("/Users", params={"StartIndex": "2", "count": "1", "SORTBY": "userName"}).json()
    assert (paged["startIndex"], [u["userName"] for u in paged["Resources"]]) == (2, ["bob@example.com"])
    _assert_error(scim.get("/ResourceTypes", params={"Filter": 'id eq "User"'}), 403, None)


def test_okta_test_api_credentials_request(scim: httpx.Client) -> None:
    response = scim.get("/Users", params={"startIndex": "1", "count": "2"})
    assert response.status_code == 200
    body = response.json()
    assert all(isinstance(body[k], int) for k in ("totalResults", "startIndex", "itemsPerPage"))


def test_json_media_types_and_a_doubled_bearer_prefix_are_accepted(stack: Stack, tenant: Tenant) -> None:
    headers = {
        "Authorization": f"Bearer Bearer {tenant.token}",
        "Content-Type": "application/json; charset=utf-8",
    }
    response = httpx.post(
        f"{stack.base_url}/Users", headers=headers, content=b'{"userName": "plain@example.com"}'
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/scim+json")


def test_missing_invalid_and_revoked_tokens_get_401(stack: Stack, tenant: Tenant) -> None:
    url = f"{stack.base_url}/Users"
    _assert_error(httpx.get(url), 401, None)
    _assert_error(httpx.get(url, headers={"Authorization": "Bearer rst_not-a-real-token"}), 401, None)
    _assert_error(httpx.get(url, headers={"Authorization": f"Basic {tenant.token}"}), 401, None)
    assert httpx.get(url, headers=tenant.auth).status_code == 200
    with stack.admin() as admin:
        assert admin.delete(f"/tenants/{tenant.id}/tokens").json()["revoked"] == 1
    revoked = httpx.post(url, headers=tenant.auth, json=user_body("after-revoke@example.com"))
    _assert_error(revoked, 401, None)


def test_malformed_json_is_invalid_syntax_and_changes_nothing(scim: httpx.Client) -> None:
    response = scim.post(
        "/Users", content=b'{"userName": "x@example.com",', headers={"Content-Type": "application/scim+json"}
    )
    _assert_error(response, 400, "invalidSyntax")
    _assert_error(scim.post("/Users", json=["not", "an", "object"]), 400, "invalidSyntax")
    assert _total(scim) == 0


def test_body_over_one_mebibyte_is_413_and_changes_nothing(scim: httpx.Client) -> None:
    huge = user_body("huge@example.com", displayName="x" * (1024 * 1024))
    _assert_error(scim.post("/Users", json=huge), 413, None)
    assert _total(scim) == 0


def test_missing_user_name_is_invalid_value_and_changes_nothing(scim: httpx.Client) -> None:
    body = user_body("nobody@example.com")
    del body["userName"]
    _assert_error(scim.post("/Users", json=body), 400, "invalidValue")
    _assert_error(scim.post("/Users", json=user_body("   ")), 400, "invalidValue")
    _assert_error(scim.get("/Users", params={"count": "many"}), 400, "invalidValue")
    assert _total(scim) == 0


def test_two_primary_values_are_invalid_value_on_post_and_put_and_change_nothing(scim: httpx.Client) -> None:
    """RFC 7643 §2.4, as a PATCH value marking two is refused."""
    two = [{"value": "ann@example.com", "primary": True}, {"value": "ann@corp.example", "primary": True}]
    _assert_error(
        scim.post("/Users", json={**user_body("ann@example.com"), "emails": two}), 400, "invalidValue"
    )
    assert _total(scim) == 0
    created = scim.post("/Users", json=user_body("ann@example.com")).json()
    replaced = scim.put(f"/Users/{created['id']}", json={**user_body("ann@example.com"), "emails": two})
    _assert_error(replaced, 400, "invalidValue")
    assert scim.get(f"/Users/{created['id']}").json() == created


def test_a_patch_keeps_the_manager_display_name_it_sends_as_a_put_does(scim: httpx.Client) -> None:
    created = scim.post("/Users", json=user_body("ann@example.com")).json()
    manager = {"value": "carol@example.com", "displayName": "Carol Chen"}
    patched = scim.patch(
        f"/Users/{created['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "manager", "value": manager}],
        },
    )
    assert patched.status_code == 200, patched.text
    assert scim.get(f"/Users/{created['id']}").json()[ENTERPRISE]["manager"] == manager


def test_unsupported_filter_is_invalid_filter_never_an_empty_list(scim: httpx.Client) -> None:
    _assert_error(scim.get("/Users", params={"filter": 'userName eq "unterminated'}), 400, "invalidFilter")
    _assert_error(scim.get("/Users", params={"filter": 'shoeSize eq "x"'}), 400, "invalidFilter")


def test_unknown_attributes_and_password_are_accepted_but_never_stored_or_logged(
    stack: Stack, scim: httpx.Client
) -> None:
    secret = "Very-Secret-Placeholder-9731!"
    body = user_body("extra@example.com", password=secret, favouriteColour="teal")
    body["name"]["nickname_typo"] = "x"
    created = scim.post("/Users", json=body)
    assert created.status_code == 201, created.text
    assert "favouriteColour" not in created.json() and "password" not in created.json()
    engine = create_engine(stack.users_database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT CAST(profile AS TEXT) FROM users")).scalars().all()
        outbox = connection.execute(text("SELECT value FROM outbox")).scalars().all()
    engine.dispose()
    assert rows and not any(secret in row or "teal" in row for row in rows)
    assert not any(secret.encode() in bytes(value) for value in outbox)
    for log in (stack.state_dir / "logs").glob("*.log"):
        assert secret not in log.read_text(errors="replace"), log


def test_tenant_a_cannot_see_tenant_b_users(stack: Stack) -> None:
    a, b = stack.new_tenant("a"), stack.new_tenant("b")
    created = httpx.post(f"{stack.base_url}/Users", headers=a.auth, json=user_body("shared@example.com"))
    assert created.status_code == 201
    user_id = created.json()["id"]
    _assert_error(httpx.get(f"{stack.base_url}/Users/{user_id}", headers=b.auth), 404, None)
    listed = httpx.get(f"{stack.base_url}/Users", headers=b.auth, params=filter_params("shared@example.com"))
    assert listed.json()["totalResults"] == 0
    # the same userName is free in tenant B
    assert (
        httpx.post(
            f"{stack.base_url}/Users", headers=b.auth, json=user_body("shared@example.com")
        ).status_code
        == 201
    )
    assert httpx.get(f"{stack.base_url}/Users/{user_id}", headers=a.auth).status_code == 200


def test_unknown_user_is_404(scim: httpx.Client) -> None:
    _assert_error(scim.get("/Users/does-not-exist"), 404, None)


def test_out_of_range_or_unencodable_input_is_answered_not_retried(scim: httpx.Client) -> None:
    huge = scim.get("/Users", params={"startIndex": "99999999999999999999", "count": "5"})
    assert huge.status_code == 200 and huge.json()["Resources"] == []
    surrogate = b'{"userName": "\\ud800@example.com"}'
    response = scim.post("/Users", content=surrogate, headers={"Content-Type": "application/scim+json"})
    _assert_error(response, 400, "invalidSyntax")
    bad_filter = scim.get("/Users", params={"filter": 'userName eq "\\ud800"'})
    _assert_error(bad_filter, 400, "invalidFilter")
    started = time.monotonic()
    assert _total(scim) == 0
    assert time.monotonic() - started < 1.0  # the query consumer was not left retrying
