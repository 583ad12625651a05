"""Text the services' PostgreSQL databases cannot store, through the live stack (users and teams run on
PostgreSQL, tests/conftest.py): each is one exact SCIM error at once, never a message that fails its
transaction on every delivery and is dead-lettered (a 500 seconds later, or a 503 for a parked change)."""

from __future__ import annotations

import random
import socket
import time
from typing import Any

import httpx
import pytest

from tests import okta
from tests.hostile import ERROR_URN, PATCH_OP, SCIM_JSON, Seeded, assert_error
from tests.okta import user_body
from tests.stack import Stack, Tenant

pytestmark = pytest.mark.slow

NUL = "\x00"
AT_ONCE = 2.0  # seconds: refused at the edge or by the owner's rules, never after retries


def _timed(client: httpx.Client, method: str, path: str, **sent: Any) -> httpx.Response:
    started = time.monotonic()
    response = client.request(method, path, **sent)
    assert time.monotonic() - started < AT_ONCE, response.text
    return response


def test_a_nul_in_a_path_is_404_before_any_service_is_asked(unchanged: Seeded) -> None:
    tenant, user, group = unchanged.tenant.id, unchanged.user_id, unchanged.group_id
    for path in ("/Users/%00", f"/Users/{user}%00", "/Groups/%00", f"/Groups/a%00{group}"):
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = _timed(unchanged.scim, method, path, json={"userName": "x"})
            assert_error(response, 404, None, path)
    for method, path in (
        ("PATCH", f"/tenants/{tenant}/teams/%00"),
        ("DELETE", f"/tenants/{tenant}/teams/%00"),
        ("POST", f"/tenants/{tenant}/teams/%00/members"),
        ("POST", f"/tenants/{tenant}/teams/%00/release"),
        ("GET", "/tenants/%00/seats"),
    ):
        response = _timed(unchanged.admin, method, path, json={"display_name": "x"})
        assert_error(response, 404, None, path)


def test_ids_roster_cannot_have_minted_are_404_naming_the_id(unchanged: Seeded) -> None:
    for kind, real in (("Users", unchanged.user_id), ("Groups", unchanged.group_id)):
        for some_id in (real.upper(), f"{{{real}}}", real.replace("-", ""), "not-an-id", "ß" * 40):
            for method in ("GET", "DELETE"):
                response = _timed(unchanged.scim, method, f"/{kind}/{some_id}")
                assert_error(response, 404, None, some_id)
                assert response.json()["detail"] == f'{kind[:-1]} "{some_id}" not found.'


def test_a_nul_in_a_query_parameter_is_invalid_value_naming_it(unchanged: Seeded) -> None:
    tenant = unchanged.tenant.id
    for name, value in (
        ("filter", 'userName eq "a\x00b"'),
        ("attributes", "userName\x00"),
        ("sortBy", "\x00"),
        ("count", "1\x00"),
    ):
        for path in ("/Users", "/Groups", f"/Users/{unchanged.user_id}"):
            response = _timed(unchanged.scim, "GET", path, params={name: value})
            assert_error(response, 400, "invalidValue", (path, name))
            assert f'query parameter "{name}"' in response.json()["detail"]
    response = _timed(unchanged.admin, "GET", f"/tenants/{tenant}/teams", params={"source": NUL})
    assert_error(response, 400, "invalidValue")


def _nul_bodies(seeded: Seeded) -> list[tuple[str, str, Any, str]]:
    """(method, path, body, the attribute the refusal names)."""
    user, group = f"/Users/{seeded.user_id}", f"/Groups/{seeded.group_id}"
    replace = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"displayName": "a\x00"}}]}
    return [
        ("POST", "/Users", {"userName": "nul\x00@example.com"}, "userName"),
        ("POST", "/Users", {**user_body("nul@example.com"), "emails": [{"value": "\x00"}]}, "emails.value"),
        ("PUT", user, {**user_body("seed@example.com"), "name": {"givenName\x00": "A"}}, "name.givenName"),
        ("PATCH", user, replace, "Operations.value.displayName"),
        ("POST", "/Groups", {"displayName": "G\x00"}, "displayName"),
        ("PUT", group, {"displayName": "Seed", "members": [{"value": "\x00"}]}, "members.value"),
        ("PATCH", group, replace, "Operations.value.displayName"),
        ("POST", "/Users/.search", {"filter": 'userName eq "\x00"'}, "filter"),
        ("POST", "/.search", {"sortBy": "\x00"}, "sortBy"),
    ]


def test_a_nul_anywhere_in_a_body_is_invalid_value_naming_the_attribute(unchanged: Seeded) -> None:
    for method, path, body, attribute in _nul_bodies(unchanged):
        response = _timed(unchanged.scim, method, path, json=body, headers=SCIM_JSON)
        assert_error(response, 400, "invalidValue", body)
        assert f'"{attribute}' in response.json()["detail"], response.text
    tenant = unchanged.tenant.id
    for method, path, body in (
        ("POST", "/tenants", {"name": "Acme\x00"}),
        ("POST", f"/tenants/{tenant}/teams", {"display_name": "T", "member_ids": ["\x00"]}),
        ("PUT", f"/tenants/{tenant}/default-manager", {"user_id": "\x00"}),
    ):
        assert_error(_timed(unchanged.admin, method, path, json=body), 400, "invalidValue")


def test_a_nul_in_a_header_never_reaches_the_application(stack: Stack, unchanged: Seeded) -> None:
    """The HTTP parser refuses it (RFC 9110 §5.5): a plain 400 from the server, the connection closed."""
    request = (
        f"DELETE /scim/v2/Users/{unchanged.user_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f'Authorization: {unchanged.tenant.auth["Authorization"]}\r\nIf-Match: W/"1\x00"\r\n\r\n'
    )
    with socket.create_connection(("127.0.0.1", stack.gateway_ports[0]), timeout=AT_ONCE) as raw:
        raw.sendall(request.encode("latin-1"))
        assert raw.recv(4096).startswith(b"HTTP/1.1 400 ")


def _unindexable(length: int) -> str:
    """Random letters from several scripts: no compression brings it under PostgreSQL's btree limit."""
    rng = random.Random(length)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzäöüßчжщ中文字") for _ in range(length))


def test_keys_too_long_for_an_index_are_invalid_value(unchanged: Seeded) -> None:
    long = _unindexable(3000)
    user, group = f"/Users/{unchanged.user_id}", f"/Groups/{unchanged.group_id}"
    for method, path, body, attribute in (
        ("POST", "/Users", {"userName": long}, "userName"),
        ("POST", "/Users", {**user_body("long@example.com"), "externalId": long}, "externalId"),
        ("PUT", user, {**user_body("seed@example.com"), "externalId": long}, "externalId"),
        ("POST", "/Groups", {"displayName": long}, "displayName"),
        ("PUT", group, {"displayName": long}, "displayName"),
    ):
        response = _timed(unchanged.scim, method, path, json=body)
        assert_error(response, 400, "invalidValue", attribute)
        assert response.json()["detail"] == f"{attribute} is longer than 512 characters."
    accepted = unchanged.scim.post("/Groups", json={"displayName": "x" * 512})
    assert accepted.status_code == 201, accepted.text
    assert unchanged.scim.delete(f"/Groups/{accepted.json()['id']}").status_code == 204


def test_a_manager_with_a_very_long_display_name_leads_a_team(
    stack: Stack, tenant: Tenant, scim: httpx.Client
) -> None:
    """The manager team is named after the manager: the name is cut to what a team name may be.
    Its own tenant: the module's seeded user names "boss@example.com" as manager, so creating that
    user in the seeded tenant would move the seed into the new team while other tests read it."""
    long = _unindexable(3000)
    manager = scim.post("/Users", json={**user_body("boss@example.com"), "displayName": long})
    assert manager.status_code == 201, manager.text
    report = {
        **user_body("report@example.com"),
        okta.ENTERPRISE: {"manager": {"value": manager.json()["id"]}},
    }
    assert scim.post("/Users", json=report).status_code == 201
    expected = [f"{long[:505]}'s team"]
    # Users events are keyed by user: the teams service may hear the report before the manager, lead
    # a team named "Team of manager <id>" for a moment, and rename it when the manager's event arrives.
    with stack.admin() as admin:
        for _ in range(100):
            teams = admin.get(f"/tenants/{tenant.id}/teams", params={"source": "manager"}).json()
            if [team["display_name"] for team in teams["teams"]] == expected:
                break
            time.sleep(0.1)
    assert [team["display_name"] for team in teams["teams"]] == expected


def test_a_search_count_or_start_index_must_be_a_json_integer(unchanged: Seeded) -> None:
    for route in ("/Users/.search", "/Groups/.search", "/.search"):
        for search in ({"count": True}, {"startIndex": False}, {"count": 1.0}, {"count": "10"}):
            response = unchanged.scim.post(route, json=search, headers=SCIM_JSON)
            assert_error(response, 400, "invalidValue", search)
        assert unchanged.scim.post(route, json={"count": 1, "startIndex": 1}).status_code == 200


def test_a_trailing_slash_is_a_scim_404_never_a_redirect(unchanged: Seeded) -> None:
    for path in ("/Users/", "/Groups/", f"/Users/{unchanged.user_id}/", "/ServiceProviderConfig/"):
        response = unchanged.scim.get(path)
        assert_error(response, 404, None, path)
        assert "location" not in response.headers
    assert unchanged.scim.post("/Users/", json=user_body("slash@example.com")).status_code == 404
    assert unchanged.admin.get("/tenants/").json()["schemas"] == [ERROR_URN]
