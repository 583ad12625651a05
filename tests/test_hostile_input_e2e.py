"""Hostile input at the gateway's edge, over HTTP through the live stack: every class of malformed
request is one exact 4xx SCIM error (RFC 7644 §3.12), on every route that takes it, and changes nothing
in any service (read before and after)."""

from __future__ import annotations

import gzip
import itertools
import socket
from typing import Any

import pytest

from tests.hostile import PATCH_OP, SCIM_JSON, Seeded, assert_error
from tests.stack import Stack

pytestmark = pytest.mark.slow

SCIM_BODY_ROUTES = [
    ("POST", "/Users"),
    ("PUT", "/Users/{user}"),
    ("PATCH", "/Users/{user}"),
    ("POST", "/Groups"),
    ("PUT", "/Groups/{group}"),
    ("PATCH", "/Groups/{group}"),
    ("POST", "/Users/.search"),
    ("POST", "/Groups/.search"),
    ("POST", "/.search"),
]
ADMIN_BODY_ROUTES = [
    ("POST", "/tenants"),
    ("PUT", "/tenants/{tenant}/seats"),
    ("POST", "/tenants/{tenant}/teams"),
    ("PATCH", "/tenants/{tenant}/teams/{group}"),
    ("POST", "/tenants/{tenant}/teams/{group}/members"),
    ("PUT", "/tenants/{tenant}/default-manager"),
]
SEARCH_ROUTES = ["/Users/.search", "/Groups/.search", "/.search"]


def _deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


# (body bytes, Content-Type) → (status, scimType); each refused before any model or service sees it
BAD_BODIES = {
    "nested 1,000 levels": (_deep(1000), "application/scim+json", 400, "invalidSyntax"),
    "nested 33 levels": (_deep(33), "application/scim+json", 400, "invalidSyntax"),
    "nested arrays": (b"[" * 5000 + b"]" * 5000, "application/scim+json", 400, "invalidSyntax"),
    "UTF-16": ('{"userName": "x"}'.encode("utf-16"), "application/scim+json", 400, "invalidSyntax"),
    "Latin-1": ('{"userName": "é"}'.encode("latin-1"), "application/json", 400, "invalidSyntax"),
    "number beyond a double": (b'{"count": 1e400}', "application/scim+json", 400, "invalidSyntax"),
    "5,000-digit integer": (b'{"count": 1' + b"0" * 5000 + b"}", "application/json", 400, "invalidSyntax"),
    "NaN": (b'{"count": NaN}', "application/scim+json", 400, "invalidSyntax"),
    "lone surrogate": (b'{"userName": "\\udc00"}', "application/scim+json", 400, "invalidSyntax"),
    "truncated": (b'{"userName": ', "application/scim+json", 400, "invalidSyntax"),
    "empty": (b"", "application/scim+json", 400, "invalidSyntax"),
    "text/plain": (b'{"userName": "x"}', "text/plain", 415, None),
    "XML": (b"<user/>", "application/xml", 415, None),
    "form": (b"userName=x", "application/x-www-form-urlencoded", 415, None),
    "JSON in UTF-16 declared": (b"{}", "application/json; charset=utf-16", 415, None),
}


def test_malformed_bodies_are_refused_on_every_route(unchanged: Seeded) -> None:
    ids = {"user": unchanged.user_id, "group": unchanged.group_id, "tenant": unchanged.tenant.id}
    for case, (raw, content_type, status, scim_type) in BAD_BODIES.items():
        headers = {"Content-Type": content_type}
        for method, path in SCIM_BODY_ROUTES:
            response = unchanged.scim.request(method, path.format(**ids), content=raw, headers=headers)
            assert_error(response, status, scim_type, case)
        for method, path in ADMIN_BODY_ROUTES:
            response = unchanged.admin.request(method, path.format(**ids), content=raw, headers=headers)
            assert_error(response, status, scim_type, case)


def test_json_media_types_with_charset_and_a_byte_order_mark_are_read(unchanged: Seeded) -> None:
    search = b'{"filter": "userName eq \\"seed@example.com\\""}'
    for content_type in (
        "application/scim+json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF8",
    ):
        for raw in (search, b"\xef\xbb\xbf" + search):
            found = unchanged.scim.post("/Users/.search", content=raw, headers={"Content-Type": content_type})
            assert found.status_code == 200, found.text
            assert found.json()["totalResults"] == 1


def test_compressed_bodies_are_unsupported_media_and_identity_is_read(unchanged: Seeded) -> None:
    """RFC 9110 §15.5.16: 415 for a content coding the server does not support, whether the body is
    compressed or only says so."""
    ids = {"user": unchanged.user_id, "group": unchanged.group_id, "tenant": unchanged.tenant.id}
    plain = b'{"userName": "x"}'
    for coding, raw in (("gzip", gzip.compress(plain)), ("br", plain), ("identity, deflate", plain)):
        headers = {"Content-Type": "application/scim+json", "Content-Encoding": coding}
        for method, path in SCIM_BODY_ROUTES:
            response = unchanged.scim.request(method, path.format(**ids), content=raw, headers=headers)
            assert_error(response, 415, None, coding)
            assert "Content-Encoding" in response.json()["detail"]
            assert response.headers["accept-encoding"] == "identity"  # §12.5.3: what would do
        for method, path in ADMIN_BODY_ROUTES:
            response = unchanged.admin.request(method, path.format(**ids), content=raw, headers=headers)
            assert_error(response, 415, None, coding)
            assert "Content-Encoding" in response.json()["detail"]
            assert response.headers["accept-encoding"] == "identity"
    # Two headers are one list (RFC 9110 §5.3): a coding in the second one counts as well.
    two = [
        ("Content-Type", "application/scim+json"),
        ("Content-Encoding", "identity"),
        ("Content-Encoding", "gzip"),
    ]
    assert_error(unchanged.scim.post("/Users", content=plain, headers=two), 415, None, "two headers")
    wrong_type = unchanged.scim.post("/Users", content=plain, headers={"Content-Type": "text/plain"})
    assert_error(wrong_type, 415, None, "media type")
    assert "accept-encoding" not in wrong_type.headers  # a coding was not the problem
    search = b'{"filter": "userName eq \\"seed@example.com\\""}'
    identity = {"Content-Type": "application/scim+json", "Content-Encoding": "identity"}
    found = unchanged.scim.post("/Users/.search", content=search, headers=identity)
    assert found.status_code == 200 and found.json()["totalResults"] == 1, found.text


WRONG_SEARCH_FIELDS: list[dict[str, Any]] = [
    {"count": {}},
    {"count": {"value": 10}},
    {"startIndex": [1]},
    {"count": "1.5"},
    {"count": "9" * 5000},
    {"sortOrder": 1},
    {"sortOrder": "sideways"},
    {"filter": 5},
    {"sortBy": ["userName"]},
    {"attributes": 5},
    {"excludedAttributes": {"a": 1}},
    {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]},  # another message's body
    {"Schemas": "urn:ietf:params:scim:api:messages:2.0:SearchRequest"},  # not a list
    {"schemas": [5]},
]


def test_search_request_fields_of_the_wrong_type_are_invalid_value(unchanged: Seeded) -> None:
    for route in SEARCH_ROUTES:
        for search in WRONG_SEARCH_FIELDS:
            response = unchanged.scim.post(route, json=search, headers=SCIM_JSON)
            assert_error(response, 400, "invalidValue", search)


def test_list_parameters_out_of_shape_are_invalid_value(unchanged: Seeded) -> None:
    for path, params in itertools.product(
        ("/Users", "/Groups"),
        (
            {"count": "9" * 5000},
            {"startIndex": "1" + "0" * 5000},
            {"startIndex": "²"},
            {"count": "1e3"},
            {"sortOrder": "sideways"},
            {"attributes": "a[b"},
        ),
    ):
        assert_error(unchanged.scim.get(path, params=params), 400, "invalidValue", params)
    for path in ("/Users", "/Groups"):  # beyond every row, or no page at all: nothing to show
        huge = unchanged.scim.get(path, params={"startIndex": "9" * 40, "count": "-7"})
        assert huge.status_code == 200 and huge.json()["Resources"] == []


BAD_RESOURCES = [
    ("POST", "/Users", {"userName": 5}),
    ("POST", "/Users", {"userName": "a@example.com", "emails": {"value": "a@example.com"}}),
    ("POST", "/Users", {"userName": "a@example.com", "name": "Ann Lee"}),
    ("POST", "/Users", {"userName": "a@example.com", "active": []}),
    ("POST", "/Users", {"userName": {"value": "a@example.com"}}),
    ("PUT", "/Users/{user}", {"userName": "seed@example.com", "phoneNumbers": [5]}),
    ("PATCH", "/Users/{user}", {"schemas": [PATCH_OP], "Operations": [5]}),
    ("PATCH", "/Users/{user}", {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": 5, "value": 1}]}),
    ("PATCH", "/Users/{user}", {"schemas": [PATCH_OP], "Operations": {"op": "add"}}),
    ("POST", "/Groups", {"displayName": {"a": 1}}),
    ("POST", "/Groups", {"displayName": "G", "members": "everyone"}),
    ("PUT", "/Groups/{group}", {"displayName": "G", "members": [{"value": 5}]}),
]


def test_values_of_the_wrong_type_are_refused_with_their_scim_name(unchanged: Seeded) -> None:
    ids = {"user": unchanged.user_id, "group": unchanged.group_id}
    for method, path, body in BAD_RESOURCES:
        response = unchanged.scim.request(method, path.format(**ids), json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["scimType"] in ("invalidValue", "invalidSyntax"), (body, response.text)
        assert "_" not in response.json()["detail"], (body, response.text)


def test_a_patch_value_the_user_refuses_names_the_scim_attribute(unchanged: Seeded) -> None:
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "name.givenName", "value": {"a": 1}}],
    }
    response = unchanged.scim.patch(f"/Users/{unchanged.user_id}", json=patch)
    assert_error(response, 400, "invalidValue")
    assert "givenName" in response.json()["detail"] and "given_name" not in response.json()["detail"]


def test_a_seat_limit_must_be_a_whole_number_within_bounds(unchanged: Seeded) -> None:
    for limit in (True, False, -1, 1_000_001, 2**63, "5", 5.5, None):
        response = unchanged.admin.put(f"/tenants/{unchanged.tenant.id}/seats", json={"limit": limit})
        assert_error(response, 400, "invalidValue", limit)
        assert "limit" in response.json()["detail"]


def test_tenant_names_are_unique_whatever_their_case_in_any_script(stack: Stack) -> None:
    with stack.admin() as admin:
        created = admin.post("/tenants", json={"name": "Ärzte-Überall Ltd"})
        assert created.status_code == 201, created.text
        before = admin.get("/tenants").json()
        for clash in ("Ärzte-Überall Ltd", "ärzte-überall ltd", "A\u0308rzte-U\u0308berall LTD"):
            assert_error(admin.post("/tenants", json={"name": clash}), 409, "uniqueness")
        assert admin.get("/tenants").json() == before


def test_a_method_a_path_does_not_take_is_405_with_allow(stack: Stack, seeded: Seeded) -> None:
    response = seeded.scim.delete("/Users")
    assert_error(response, 405, None)
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.json()["detail"] == "DELETE is not allowed on this path; use GET, HEAD, POST."
    response = seeded.admin.put("/tenants")
    assert_error(response, 405, None)
    assert response.headers["allow"] == "GET, HEAD, POST"
    response = seeded.scim.get("/.search")
    assert_error(response, 405, None)
    assert response.headers["allow"] == "POST"  # no GET here, so no HEAD either
    for method in ("GET", "PUT", "PATCH", "DELETE"):  # no resource has the id ".search"
        for path in ("/Users/.search", "/Groups/.search"):
            response = seeded.scim.request(method, path, json={} if method in ("PUT", "PATCH") else None)
            assert_error(response, 405, None)
            assert response.headers["allow"] == "POST", (method, path)
    assert seeded.scim.get(f"/Users/{seeded.user_id}").status_code == 200
    assert seeded.scim.get(f"/Groups/{seeded.group_id}").status_code == 200


def test_head_answers_what_get_would_without_the_body(seeded: Seeded) -> None:
    """RFC 9110 §9.1, §9.3.2: the status and header fields of GET, no body; errors included."""
    for client, path in (
        (seeded.scim, "/Users"),
        (seeded.scim, f"/Users/{seeded.user_id}"),
        (seeded.scim, f"/Groups/{seeded.group_id}"),
        (seeded.scim, "/ServiceProviderConfig"),
        (seeded.scim, "/Users/no-such-user"),
        (seeded.admin, "/tenants"),
    ):
        get, head = client.get(path), client.head(path)
        assert (head.status_code, head.content) == (get.status_code, b""), path
        for field in ("content-type", "content-length", "etag"):
            assert head.headers.get(field) == get.headers.get(field), (path, field)
    response = seeded.scim.head("/.search")
    assert (response.status_code, response.headers["allow"], response.content) == (405, "POST", b"")


@pytest.mark.parametrize("operand", ["5", '"2020"', '"2026-01-01T00:00:00"'])
def test_a_datetime_filter_takes_only_an_instant_on_users_and_groups(seeded: Seeded, operand: str) -> None:
    """RFC 7643 §2.3.5: refused alike on both resources, not read as seconds since 1970."""
    for resource in ("Users", "Groups"):
        response = seeded.scim.get(f"/{resource}", params={"filter": f"meta.lastModified gt {operand}"})
        assert_error(response, 400, "invalidFilter")
        assert response.json()["detail"] == (
            "The value for meta.lastModified must be a dateTime with a time zone, e.g. 2026-01-01T00:00:00Z."
        )
        found = seeded.scim.get(
            f"/{resource}", params={"filter": 'meta.lastModified gt "2000-01-01T00:00:00Z"'}
        )
        assert found.json()["totalResults"] == 1, found.text


SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_a_user_patch_or_body_asking_for_unbounded_work_is_refused_and_changes_nothing(
    seeded: Seeded,
) -> None:
    """Applying a PATCH costs the gateway CPU in proportion to its operations and the user's values,
    on the loop every tenant shares (services/gateway/scim/users/bounds.py)."""
    before = seeded.scim.get(f"/Users/{seeded.user_id}").json()
    titles = [{"op": "replace", "path": "title", "value": f"t{i}"} for i in range(101)]
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": titles}
    assert_error(seeded.scim.patch(f"/Users/{seeded.user_id}", json=patch), 400, "invalidValue")
    emails = [{"value": f"e{i}@example.com"} for i in range(101)]
    grow = {**patch, "Operations": [{"op": "add", "path": "emails", "value": emails}]}
    assert_error(seeded.scim.patch(f"/Users/{seeded.user_id}", json=grow), 400, "invalidValue")
    terms = " or ".join(f'value eq "e{i:05}@example.com"' for i in range(400))
    long_path = [{"op": "replace", "path": f"emails[{terms}].type", "value": "home"}]
    response = seeded.scim.patch(f"/Users/{seeded.user_id}", json={**patch, "Operations": long_path})
    assert_error(response, 400, "invalidValue")
    assert response.json()["detail"].startswith("A PATCH's paths and path-less attribute names hold at most")
    twice = [{"op": "replace", "path": "title", "PATH": f"emails[{terms}].type", "value": "home"}]
    response = seeded.scim.patch(f"/Users/{seeded.user_id}", json={**patch, "Operations": twice})
    assert_error(response, 400, "invalidSyntax")
    assert (
        response.json()["detail"]
        == 'PATCH Operations.0 names "path" twice (as "PATH"): names are case-insensitive.'
    )
    grow = {"op": "add", "path": "emails", "value": [{"value": f"g{i}@example.com"} for i in range(99)]}
    work = 'emails[type eq "work"].value'
    typed = [{"op": "replace", "path": work, "value": f"n{i}@x.com"} for i in range(15)]
    response = seeded.scim.patch(f"/Users/{seeded.user_id}", json={**patch, "Operations": [grow, *typed]})
    assert_error(response, 400, "invalidValue")
    held = len(before.get("emails", []))  # the add goes through those and its own 99, two passes each
    gone_through = 2 * (held + 99) + sum(2 * (held + 99 + i + 1) for i in range(15))
    assert response.json()["detail"] == (
        f"A PATCH's operations on multi-valued attributes go through at most 3000 values, not {gone_through}"
        " (each operation's filter terms and passes times the values the attribute may hold by then): send"
        " the changes in several requests."
    )
    assert seeded.scim.get(f"/Users/{seeded.user_id}").json() == before
    crowded = {"schemas": [USER_URN], "userName": "crowded@example.com", "emails": emails}
    assert_error(seeded.scim.post("/Users", json=crowded), 400, "invalidValue")
    empty = {**crowded, "emails": [], "addresses": [{}] * 300_000}  # dropped once read: counted first
    response = seeded.scim.post("/Users", json=empty)
    assert_error(response, 400, "invalidValue")
    assert response.json()["detail"] == "addresses holds at most 100 values, not 300000."
    lookup = seeded.scim.get("/Users", params={"filter": 'userName eq "crowded@example.com"'})
    assert lookup.json()["totalResults"] == 0


def test_a_start_index_beyond_64_bits_is_read_alike_in_a_query_and_a_search_body(seeded: Seeded) -> None:
    """RFC 7644 §3.4.3: POST …/.search means what GET means; a JSON integer of 31 digits is one."""
    huge = 10**30
    by_query = seeded.scim.get("/Users", params={"startIndex": str(huge)})
    body = f'{{"schemas": ["{SEARCH_URN}"], "startIndex": {huge}}}'
    by_body = seeded.scim.post(
        "/Users/.search", content=body, headers={"Content-Type": "application/scim+json"}
    )
    assert (by_query.status_code, by_body.status_code) == (200, 200), by_body.text
    assert by_body.json()["startIndex"] == by_query.json()["startIndex"]
    assert by_body.json()["Resources"] == by_query.json().get("Resources", [])


def test_a_filter_comparing_a_huge_string_is_refused_not_set_aside(seeded: Seeded) -> None:
    """Past SQLite's LIKE limit the query would fail on every delivery and page the operators as a
    dead letter: refused as the filter it is, alike for Users, Groups and the root search."""
    huge = "a" * 60_000
    for resource in ("Users", "Groups"):
        for op in ("co", "ew"):
            attribute = "userName" if resource == "Users" else "displayName"
            response = seeded.scim.get(f"/{resource}", params={"filter": f'{attribute} {op} "{huge}"'})
            assert_error(response, 400, "invalidFilter")
    search = {"schemas": [SEARCH_URN], "filter": f'title co "{huge}"'}
    assert_error(seeded.scim.post("/.search", json=search), 400, "invalidFilter")


def test_a_filter_sort_by_or_attribute_list_too_long_to_parse_is_refused_by_its_size(seeded: Seeded) -> None:
    """An owner parses a filter on the query consumer that answers every tenant's lookups in turn
    (~1 µs a character) and quotes an invalid one back; the gateway parses attribute lists on the loop
    every tenant shares: refused by size first, alike for GET and every search route."""
    invalid = 'userName eq "a" and (' * 40_000
    for route in SEARCH_ROUTES:
        response = seeded.scim.post(route, json={"schemas": [SEARCH_URN], "filter": invalid})
        assert_error(response, 400, "invalidFilter")
        assert response.json()["detail"] == (
            f"The filter has {len(invalid):,} characters; at most 16,384 are accepted."
        )
    terms = " or ".join(f'userName eq "user-{i:05}@example.com"' for i in range(500))
    for resource in ("Users", "Groups"):
        assert_error(seeded.scim.get(f"/{resource}", params={"filter": terms}), 400, "invalidFilter")
    long_sort = "name." * 100_000
    response = seeded.scim.post("/Users/.search", json={"schemas": [SEARCH_URN], "sortBy": long_sort})
    assert_error(response, 400, "invalidValue")
    assert response.json()["detail"] == (
        f"sortBy has {len(long_sort):,} characters; at most 1,024 are accepted."
    )
    assert_error(seeded.scim.get("/Groups", params={"sortBy": "name." * 1_000}), 400, "invalidValue")
    # attributes/excludedAttributes are parsed by the gateway itself, on its event loop.
    many = ",".join(f"x{i}" for i in range(201))
    for resource in ("Users", "Groups", f"Users/{seeded.user_id}"):
        response = seeded.scim.get(f"/{resource}", params={"excludedAttributes": many})
        assert_error(response, 400, "invalidValue")
        assert (
            response.json()["detail"]
            == "attributes/excludedAttributes: at most 200 names are accepted, not 201."
        )
    # One name of 10,000 characters: refused by its size, before the library reads it as a path.
    search = {"schemas": [SEARCH_URN], "attributes": ['emails[value eq "a"]' * 500]}
    response = seeded.scim.post("/Users/.search", json=search)
    assert_error(response, 400, "invalidValue")
    assert response.json()["detail"] == (
        "attributes/excludedAttributes: at most 8,192 characters are accepted, not 10,000."
    )


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_an_instant_past_the_years_utc_can_show_finds_users_and_groups_alike(
    seeded: Seeded, moment: str
) -> None:
    """RFC 7643 §2.3.5: a valid xsd:dateTime; the root search must not drop one resource type for it."""
    compare = "lt" if moment.startswith("9999") else "gt"
    for resource in ("Users", "Groups"):
        found = seeded.scim.get(f"/{resource}", params={"filter": f'meta.created {compare} "{moment}"'})
        assert (found.status_code, found.json()["totalResults"]) == (200, 1), found.text
    search = {"schemas": [SEARCH_URN], "filter": f'meta.created {compare} "{moment}"'}
    both = seeded.scim.post("/.search", json=search)
    assert (both.status_code, both.json()["totalResults"]) == (200, 2), both.text


def test_unknown_paths_are_scim_404s(seeded: Seeded) -> None:
    assert_error(seeded.scim.get("/Nope"), 404, None)
    assert_error(seeded.admin.get("/nope"), 404, None)


def test_a_request_line_the_http_server_cannot_read_is_its_plain_400(seeded: Seeded) -> None:
    """Up to the HTTP parser's limit a long query is Roster's to answer in SCIM; beyond it (~64 KB of
    request line) the server refuses the request before Roster sees it (docs/errors.md)."""
    long = seeded.scim.get("/Users", params={"filter": 'userName eq "' + "a" * 40_000 + '"'})
    assert long.status_code in (200, 400), long.text[:200]
    assert long.headers["content-type"].startswith("application/scim+json")
    url = seeded.scim.base_url  # a raw request: httpx itself refuses a URL this long
    with socket.create_connection((str(url.host), int(url.port or 80)), timeout=30) as connection:
        target = f"{url.path.rstrip('/')}/Users?filter={'a' * 100_000}"
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: {url.host}\r\n\r\n".encode())
        head = connection.recv(65536).decode("latin-1").lower()
    assert head.startswith("http/1.1 400 ") and "content-type: text/plain" in head, head[:300]
    assert seeded.scim.get(f"/Users/{seeded.user_id}").status_code == 200
