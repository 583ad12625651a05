"""The whole user lifecycle as Okta (catalog and AIW apps) and Entra ID drive it, over HTTP.

Every change is followed by a read that checks what was stored, not just the status.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.okta import ENTERPRISE, filter_params, user_body
from tests.stack import Stack, Tenant
from tests.test_scim_users_e2e import _assert_error, _total

pytestmark = pytest.mark.slow

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ROSTER = "urn:roster:params:scim:schemas:extension:roster:2.0:User"


def _create(scim: httpx.Client, user_name: str, **overrides: Any) -> dict[str, Any]:
    created = scim.post("/Users", json=user_body(user_name, **overrides))
    assert created.status_code == 201, created.text
    return dict(created.json())


def _patch(scim: httpx.Client, user_id: str, *operations: dict[str, Any], **headers: str) -> httpx.Response:
    return scim.patch(
        f"/Users/{user_id}", json={"schemas": [PATCH_OP], "Operations": list(operations)}, headers=headers
    )


def _stored(scim: httpx.Client, user_id: str) -> dict[str, Any]:
    response = scim.get(f"/Users/{user_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_okta_catalog_app_update_is_get_then_full_put(scim: httpx.Client) -> None:
    user = _create(scim, "put@example.com")
    current = _stored(scim, user["id"])
    current.update(title="Sales Director", userName="put.renamed@example.com")
    replaced = scim.put(f"/Users/{user['id']}", json=current)
    assert replaced.status_code == 200, replaced.text
    stored = _stored(scim, user["id"])
    assert (stored["title"], stored["userName"], stored["id"]) == (
        "Sales Director",
        "put.renamed@example.com",
        user["id"],
    )
    assert stored["meta"]["version"] == 'W/"2"' and replaced.headers["etag"] == 'W/"2"'
    assert stored["meta"]["created"] == user["meta"]["created"]
    assert scim.get("/Users", params=filter_params("put@example.com")).json()["totalResults"] == 0


def test_aiw_app_deactivates_and_reactivates_with_put(scim: httpx.Client) -> None:
    user = _create(scim, "aiw@example.com")
    body = user_body("aiw@example.com", active=False)
    assert scim.put(f"/Users/{user['id']}", json=body).status_code == 200
    assert _stored(scim, user["id"])["active"] is False
    body["active"] = True
    assert scim.put(f"/Users/{user['id']}", json=body).json()["id"] == user["id"]
    assert _stored(scim, user["id"])["active"] is True


def test_okta_patch_deactivation_keeps_the_user_readable(scim: httpx.Client) -> None:
    user = _create(scim, "deact@example.com")
    patched = _patch(scim, user["id"], {"op": "replace", "value": {"active": False}})
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert _stored(scim, user["id"])["active"] is False
    assert scim.get("/Users", params=filter_params("deact@example.com")).json()["totalResults"] == 1


def test_entra_patch_shapes_are_stored(scim: httpx.Client) -> None:
    user = _create(scim, "entra@example.com")
    response = _patch(
        scim,
        user["id"],
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Replace", "value": {"name.givenName": "Zoe", f"{ENTERPRISE}:employeeNumber": "E-77"}},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "zoe@example.com"},
        {"op": "Add", "path": "manager", "value": [{"value": "MGR-1"}]},
    )
    assert response.status_code == 200, response.text
    stored = _stored(scim, user["id"])
    assert stored["active"] is False and stored["name"]["givenName"] == "Zoe"
    assert stored[ENTERPRISE]["employeeNumber"] == "E-77"
    assert stored[ENTERPRISE]["manager"] == {"value": "MGR-1"}
    assert [e["value"] for e in stored["emails"]] == ["zoe@example.com"]
    bare = _patch(scim, user["id"], {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "MGR-2"})
    assert bare.status_code == 200 and _stored(scim, user["id"])[ENTERPRISE]["manager"] == {"value": "MGR-2"}


def test_entra_several_changes_in_one_path_less_replace_keyed_by_paths(scim: httpx.Client) -> None:
    """Entra ID with its compliance flag: one path-less replace whose keys are paths, value filters
    included; every change lands, or the request is refused."""
    user = _create(scim, "entra-flag@example.com")
    keyed_by_paths = {
        'emails[type eq "work"].value': "flag@example.com",
        "name.familyName": "Flag",
        'phoneNumbers[type eq "mobile"].value': "+1 555 0101",
    }
    response = _patch(scim, user["id"], {"op": "replace", "value": keyed_by_paths})
    assert response.status_code == 200, response.text
    stored = _stored(scim, user["id"])
    assert [(e["value"], e["type"]) for e in stored["emails"]] == [("flag@example.com", "work")]
    assert stored["name"]["familyName"] == "Flag"
    assert [(p["value"], p["type"]) for p in stored["phoneNumbers"]] == [("+1 555 0101", "mobile")]
    refused = _patch(scim, user["id"], {"op": "replace", "value": {'nickNames[type eq "x"].value': "n"}})
    assert (refused.status_code, refused.json()["scimType"]) == (400, "invalidPath")
    assert _stored(scim, user["id"]) == stored


def test_entra_adds_through_a_filter_nothing_matches_yet_and_removes_roles_by_value(
    scim: httpx.Client,
) -> None:
    """Entra ID expects ``add``/``replace`` on ``phoneNumbers[type eq "mobile"].value`` to create the
    mobile number a user does not have yet, in the same PATCH as its other changes."""
    user = _create(scim, "entra-mobile@example.com", roles=[{"value": "coach"}, {"value": "admin"}])
    response = _patch(
        scim,
        user["id"],
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+44 7700 900123"},
        {"op": "Replace", "path": 'addresses[type eq "work"].locality', "value": "Leeds"},
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Remove", "path": "roles", "value": [{"value": "coach"}]},
    )
    assert response.status_code == 200, response.text
    stored = _stored(scim, user["id"])
    assert [(p["type"], p["value"]) for p in stored["phoneNumbers"]] == [("mobile", "+44 7700 900123")]
    assert [(a["type"], a["locality"]) for a in stored["addresses"]] == [("work", "Leeds")]
    assert stored["active"] is False
    assert [role["value"] for role in stored["roles"]] == ["admin"]


def test_put_and_patch_never_create(scim: httpx.Client) -> None:
    _assert_error(scim.put("/Users/no-such-user", json=user_body("ghost@example.com")), 404, None)
    _assert_error(_patch(scim, "no-such-user", {"op": "replace", "value": {"active": False}}), 404, None)
    assert _total(scim) == 0


def test_put_to_a_taken_user_name_is_409_and_changes_nothing(scim: httpx.Client) -> None:
    first, second = _create(scim, "one@example.com"), _create(scim, "two@example.com")
    _assert_error(scim.put(f"/Users/{second['id']}", json=user_body("ONE@example.com")), 409, "uniqueness")
    assert _stored(scim, second["id"])["userName"] == "two@example.com"
    assert _stored(scim, first["id"])["meta"]["version"] == 'W/"1"'


def test_delete_removes_the_user_for_good(scim: httpx.Client) -> None:
    user = _create(scim, "gone@example.com")
    deleted = scim.delete(f"/Users/{user['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    _assert_error(scim.get(f"/Users/{user['id']}"), 404, None)
    _assert_error(scim.delete(f"/Users/{user['id']}"), 404, None)
    assert _total(scim) == 0
    again = _create(scim, "gone@example.com")
    assert again["id"] != user["id"]


def test_etags_guard_writes_and_spare_reads(scim: httpx.Client) -> None:
    user = _create(scim, "etag@example.com")
    stale = {"If-Match": 'W/"9"'}
    _assert_error(
        scim.put(f"/Users/{user['id']}", json=user_body("etag@example.com", title="x"), headers=stale),
        412,
        None,
    )
    _assert_error(
        _patch(scim, user["id"], {"op": "replace", "path": "title", "value": "x"}, **stale), 412, None
    )
    _assert_error(scim.delete(f"/Users/{user['id']}", headers=stale), 412, None)
    assert _stored(scim, user["id"]) == user | {}  # unchanged
    current = {"If-Match": user["meta"]["version"]}
    assert (
        _patch(scim, user["id"], {"op": "replace", "path": "title", "value": "x"}, **current).status_code
        == 200
    )
    fresh = _stored(scim, user["id"])
    assert (
        scim.get(f"/Users/{user['id']}", headers={"If-None-Match": fresh["meta"]["version"]}).status_code
        == 304
    )
    assert scim.get(f"/Users/{user['id']}", headers={"If-None-Match": 'W/"1"'}).status_code == 200


def test_attributes_and_excluded_attributes(scim: httpx.Client) -> None:
    user = _create(scim, "proj@example.com")
    only = scim.get(f"/Users/{user['id']}", params={"attributes": "userName,emails.value"}).json()
    assert set(only) == {"schemas", "id", "userName", "emails"} and only["emails"] == [
        {"value": "proj@example.com"}
    ]
    listed = scim.get("/Users", params={"excludedAttributes": "emails,name", "count": "5"}).json()
    assert "emails" not in listed["Resources"][0] and "name" not in listed["Resources"][0]
    assert listed["Resources"][0]["userName"] == "proj@example.com"


def test_search_endpoint_and_sorting(scim: httpx.Client) -> None:
    for name in ("b@example.com", "c@example.com", "a@example.com"):
        _create(scim, name)
    got = scim.get("/Users", params={"sortBy": "userName", "sortOrder": "descending"}).json()
    assert [r["userName"] for r in got["Resources"]] == ["c@example.com", "b@example.com", "a@example.com"]
    search = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "sortBy": "userName",
        "count": 2,
    }
    searched = scim.post("/Users/.search", json=search).json()
    assert searched["totalResults"] == 3 and [r["userName"] for r in searched["Resources"]] == [
        "a@example.com",
        "b@example.com",
    ]


def test_roles_through_scim_roles_and_the_roster_extension(scim: httpx.Client) -> None:
    coach = _create(scim, "coach@example.com", roles=[{"value": "coach", "primary": True}])
    assert coach["roles"] == [{"value": "coach", "primary": True}]
    manager = _create(scim, "mgr@example.com", **{ROSTER: {"role": "manager"}})
    assert manager[ROSTER] == {"role": "manager"}
    patched = _patch(scim, coach["id"], {"op": "replace", "path": f"{ROSTER}:role", "value": "admin"})
    assert _stored(scim, coach["id"])[ROSTER] == {"role": "admin"} and patched.status_code == 200
    _assert_error(
        scim.post("/Users", json=user_body("w@example.com", **{ROSTER: {"role": "wizard"}})),
        400,
        "invalidValue",
    )


def test_discovery_documents(stack: Stack, tenant: Tenant) -> None:
    for path in ("/ServiceProviderConfig", "/Schemas", "/ResourceTypes"):
        _assert_error(httpx.get(f"{stack.base_url}{path}"), 401, None)
        response = httpx.get(f"{stack.base_url}{path}", headers=tenant.auth)
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "application/scim+json"
        )
    config = httpx.get(f"{stack.base_url}/ServiceProviderConfig", headers=tenant.auth).json()
    assert config["patch"]["supported"] and not config["bulk"]["supported"] and config["etag"]["supported"]


@pytest.fixture
def throttled_gateway(stack: Stack) -> Iterator[str]:
    slow = {"GATEWAY_RATE_LIMIT_PER_SECOND": "0.2", "GATEWAY_RATE_LIMIT_BURST": "2"}
    with stack.temporary_gateway("throttled", **slow) as base_url:
        yield base_url


def test_a_tenant_over_its_rate_gets_429_with_retry_after(
    throttled_gateway: str, stack: Stack, tenant: Tenant, scim: httpx.Client
) -> None:
    other = stack.new_tenant("not-throttled")
    with httpx.Client(base_url=throttled_gateway, headers=tenant.auth, timeout=30) as client:
        assert [client.get("/Users").status_code for _ in range(2)] == [200, 200]
        refused = client.post("/Users", json=user_body("throttled@example.com"))
        _assert_error(refused, 429, None)
        assert int(refused.headers["retry-after"]) >= 1
    assert httpx.get(f"{throttled_gateway}/Users", headers=other.auth).status_code == 200
    assert _total(scim) == 0


def test_entra_custom_attributes_and_directory_addresses(scim: httpx.Client) -> None:
    """A hybrid directory's address is kept as sent; a custom extension's attribute, sent as an
    operation of its own beside the disable, is ignored and the disable applies."""
    custom = "urn:ietf:params:scim:schemas:extension:custom:2.0:User"
    user = _create(scim, "hybrid@example.com", emails=[{"value": "Hy.Brid@Corp.LOCAL", "type": "work"}])
    assert [e["value"] for e in _stored(scim, user["id"])["emails"]] == ["Hy.Brid@Corp.LOCAL"]
    found = scim.get("/Users", params={"filter": 'emails[type eq "work"].value eq "hy.brid@corp.local"'})
    assert [u["id"] for u in found.json()["Resources"]] == [user["id"]]

    disabled = _patch(
        scim,
        user["id"],
        {"op": "Replace", "path": f"{custom}:costCode", "value": "B2"},
        {"op": "Replace", "path": "active", "value": "False"},
    )
    assert disabled.status_code == 200, disabled.text
    stored = _stored(scim, user["id"])
    assert stored["active"] is False and custom not in stored and custom not in stored["schemas"]
